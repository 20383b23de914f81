"""Code answers in a real Chromium: monospaced and highlighted in the chat, the report and the
reviewer's transcript, with no literal fences left, and a fenced code block in the Markdown export
the reviewer downloads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from coach.api.app import create_app
from coach.config import Settings
from tests.support.fake_llm import serve
from tests.support.review import make_reviewer

pytestmark = pytest.mark.browser

CODE_ANSWER = (
    "An ordered dict gives O(1) get and put.\n\n```python\nclass LRU:\n    def get(self, key):\n"
    "        self.data.move_to_end(key)\n        return self.data[key]\n```\nEvictions pop the oldest key."
)


@pytest.fixture
def server(tmp_path):
    app = create_app(Settings(data_dir=tmp_path / "data"))
    with serve(app) as url:
        yield app, url


def assert_shown_as_code(page, scope: str) -> None:
    block = page.locator(f"{scope} .code-block pre").first
    block.wait_for()
    font = block.evaluate("el => getComputedStyle(el).fontFamily").lower()
    assert "mono" in font or "consolas" in font, font
    assert block.locator("span.k").count() >= 2  # highlighted: `class`, `def`, `return`
    assert "def get(self, key):" in block.inner_text()
    assert "```" not in page.locator(scope).first.inner_text()


def test_a_code_answer_reads_as_code_in_the_chat_the_report_the_reviewer_transcript_and_the_export(browser, server):
    app, base = server
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto("/")
    for box in page.locator("input[name=stages]").all():
        box.set_checked(box.get_attribute("value") == "coding")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/s/[0-9a-f]+$"))
    session_id = page.url.rsplit("/", 1)[-1]
    page.fill("#answer", CODE_ANSWER)
    page.press("#answer", "Control+Enter")
    page.wait_for_selector("#transcript li.candidate[data-seq] .code-block")
    assert_shown_as_code(page, "#transcript li.candidate[data-seq] .answer-text")

    page.click("#end")
    page.click("#confirm-end")
    page.wait_for_url(re.compile(r"/report$"))
    assert_shown_as_code(page, ".exchange .answer-text")

    account = make_reviewer(app.state.service.db_engine)
    page.goto("/review/login")
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", account.password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/review/sessions")
    page.goto(f"/review/sessions/{session_id}")
    assert_shown_as_code(page, ".turn-candidate .answer-text")

    with page.expect_download() as download:
        page.click("a[href$='/export.md']")
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert "> ```python\n> class LRU:\n>     def get(self, key):" in markdown  # fenced, in its language
    rendered = BeautifulSoup(MarkdownIt("commonmark").render(markdown), "html.parser")
    [code] = [c for c in rendered.select("blockquote pre code") if "class LRU:" in c.get_text()]
    assert code["class"] == ["language-python"] and "return self.data[key]" in code.get_text()
    context.close()
