"""The web chat in a real Chromium (Debian's /usr/bin/chromium driven by Playwright).

Each test runs the app with uvicorn on a free port and its own data dir. Without Chromium the
tests skip, except on CI (CI=true), where a missing browser is a failure.
Set UPDATE_SCREENSHOTS=1 to refresh docs/screenshots/chat.png and report.png from the run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from coach.api.app import create_app
from coach.config import Settings
from tests.support.answers import strong_answer
from tests.support.coderun import code_text, set_code
from tests.support.fake_llm import serve

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
XSS = "<script>alert(1)</script>"
TYPING_DELAY_MS = 20  # a person's pace: the editor parses between keys, which auto-indent needs


@pytest.fixture
def server(tmp_path):
    """The app on 127.0.0.1 in a background thread, for one test. SQLite only: the pages do not
    depend on the database, which the API tests run on both."""
    with serve(create_app(Settings(data_dir=tmp_path / "data"))) as url:
        yield url


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.set_default_timeout(15_000)
    yield page
    assert not page.errors, page.errors
    context.close()


# --- helpers ---------------------------------------------------------------------------------


def start(page, *, stages=("phone_screen",), mode="coach", seniority="senior") -> str:
    page.goto("/")
    page.select_option("#seniority", seniority)
    for box in page.locator("input[name=stages]").all():
        box.set_checked(box.get_attribute("value") in stages)
    page.check(f"input[name=mode][value={mode}]")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/s/[0-9a-f]+$"))
    return page.url.rsplit("/", 1)[-1]


def candidate_turns(page) -> int:
    return page.locator("#transcript li.candidate[data-seq]").count()


def answer(page, text: str) -> None:
    """Type an answer, send it with Ctrl+Enter, wait until the reply is rendered."""
    before = candidate_turns(page)
    page.fill("#answer", text)
    page.press("#answer", "Control+Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#transcript li.candidate[data-seq]').length > n"
        " && !document.getElementById('composer').classList.contains('busy')",
        arg=before,
    )


def answer_until_done(page, kb, limit=40, on_answer=None, compose=None) -> None:
    """Answer every question until the interview is over; `compose(kb, question_id)` writes each answer."""
    compose = compose or strong_answer
    for _ in range(limit):
        if page.locator("#finished").is_visible():
            return
        question = page.get_attribute("#chat", "data-question")
        if on_answer:
            on_answer(page)
        answer(page, compose(kb, question))
    raise AssertionError("the interview never finished")


def uneven_answer(kb, question_id: str) -> str:
    """Strong on some stages, thin on others, so the report has highs and lows to show."""
    question = kb.questions[question_id]
    if question.stage in ("system_design", "coding"):
        point = question.key_points[0]
        return f"{point.text} I think {point.terms[0]} would be enough here."
    return strong_answer(kb, question_id)


def save_screenshot(page, name: str, **options) -> None:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), **options)


# --- tests -----------------------------------------------------------------------------------


def test_a_coach_mode_interview_ends_on_the_report(page, kb):
    start(page, stages=("phone_screen", "behavioral"))
    assert page.locator("#progress li").count() == 2
    assert "current" in page.get_attribute("#progress li >> nth=0", "class")
    assert re.fullmatch(r"\d+:\d\d", page.inner_text("#countdown"))

    answer_until_done(page, kb)

    cards = page.locator("#transcript .feedback[data-status=done]")
    assert cards.count() >= 2
    first = cards.first
    assert re.fullmatch(r"\d\.\d/5", first.locator(".feedback-head .score").inner_text())
    assert first.locator(".criterion").count() >= 1
    assert "offline rubric scorer" in first.locator(".scorer").inner_text()
    assert first.locator("blockquote.evidence").count() >= 1

    page.click("#report-link")
    page.wait_for_url(re.compile(r"/report$"))
    assert page.locator("#overall .score").is_visible()
    assert page.locator("#stage-results li").count() == 2
    assert page.locator("#criteria-chart svg rect").count() >= 1
    assert page.locator(".exchange mark.evidence").count() >= 1
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator(".report-actions").is_visible()


def test_coach_mode_shows_what_a_strong_answer_covers_after_the_feedback(page, kb):
    start(page, stages=("phone_screen",))
    question = page.get_attribute("#chat", "data-question")
    answer(page, f"{strong_answer(kb, question)} {XSS}")
    turn = page.locator("#transcript li.candidate[data-seq]").first
    turn.locator(".feedback[data-status=done]").wait_for()
    reference = turn.locator("details.model-answer[open]")
    reference.wait_for()
    assert reference.locator("summary").inner_text() == "What a strong answer covers"
    assert reference.locator("p").inner_text() == kb.model_answers[question]
    order = turn.evaluate("li => [...li.children].map(c => c.className)")
    assert order.index("model-answer") > order.index("feedback")


def test_a_full_default_interview_with_the_code_editor(page, kb):
    page.set_viewport_size({"width": 1200, "height": 1000})
    start(page, stages=("phone_screen", "coding", "system_design", "behavioral"))
    stages = [li.get_attribute("data-stage") for li in page.locator("#progress li").all()]
    assert stages == ["phone_screen", "coding", "system_design", "behavioral"]
    seen, shot = set(), {"taken": False}

    def before_answer(page):
        stage = page.get_attribute("#chat", "data-stage")
        seen.add(stage)
        if stage == "coding" and not shot["taken"]:
            check_code_editor(page)
            set_code(page, draft_for(kb.questions[page.get_attribute("#chat", "data-question")].prompt))
            page.fill("#answer", "An OrderedDict keeps recency order, so get and put stay O(1).")
            save_screenshot(page, "chat.png")
            set_code(page, "")  # the notes alone are this answer
            shot["taken"] = True

    answer_until_done(page, kb, limit=60, on_answer=before_answer, compose=uneven_answer)
    assert seen == set(stages)
    assert all("done" in li.get_attribute("class") for li in page.locator("#progress li").all())

    page.click("#report-link")
    page.wait_for_url(re.compile(r"/report$"))
    assert page.locator("#stage-results li").count() == 4
    assert page.locator("#improvements li").count() >= 1
    first_tip = page.locator("#improvements a").first
    if first_tip.count():
        target = first_tip.get_attribute("href")
        assert page.locator(target).count() == 1  # linked to the stage's preparation tips
    page.set_viewport_size({"width": 1200, "height": 1700})
    save_screenshot(page, "report.png")


def draft_for(prompt: str) -> str:
    """A half-written coding answer that fits the task, for the chat screenshot."""
    if "schema" in prompt.lower():
        return (
            "-- Orders reference users; order_items join orders and products.\n"
            "CREATE TABLE orders (\n"
            "    id          BIGSERIAL PRIMARY KEY,\n"
            "    user_id     BIGINT NOT NULL REFERENCES users(id),\n"
            "    status      TEXT NOT NULL DEFAULT 'pending',\n"
            "    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()\n"
            ");\n"
            "CREATE INDEX orders_user_created ON orders (user_id, created_at DESC);"
        )
    return (
        "# A dict for O(1) lookup plus an OrderedDict to track recency.\n"
        "class LRUCache:\n"
        "    def __init__(self, capacity: int):\n"
        "        self.capacity = capacity\n"
        "        self.items = OrderedDict()\n\n"
        "    def get(self, key):\n"
        "        if key not in self.items:\n"
        "            return None\n"
        "        self.items.move_to_end(key)\n"
        "        return self.items[key]"
    )


def check_code_editor(page) -> None:
    """In the coding stage code goes in a CodeMirror editor in the task's language: Tab indents,
    Enter keeps (Python: follows) the indentation, Esc then Tab leaves it. The session's task is
    drawn at random, so the check types in whichever language it has."""
    page.wait_for_selector("#code-panel:not([hidden]) .cm-editor")
    assert page.locator("#code-editor .cm-lineNumbers").count() == 1
    set_code(page, "")
    page.click("#code-editor .cm-content")
    if page.get_attribute("#code-panel", "data-language") == "sql":
        last_line = type_sql_with_indent_keys(page)
    else:
        last_line = type_python_with_indent_keys(page)
    page.keyboard.press("Tab")
    assert code_text(page).endswith(f"\n        {last_line}")
    in_editor = "!!document.activeElement.closest('#code-editor')"
    assert page.evaluate(in_editor)  # Tab stayed in the editor
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")  # Esc then Tab leaves it
    assert not page.evaluate(in_editor)


def type_lines(page, steps) -> None:
    """Type each step at a person's pace: a key name in KEYS is pressed, anything else typed."""
    for step in steps:
        if step in KEYS:
            page.keyboard.press(step)
        else:
            page.keyboard.type(step, delay=TYPING_DELAY_MS)


KEYS = {"Enter", "Tab", "Shift+Tab"}


def type_python_with_indent_keys(page) -> str:
    """Python's auto-indent follows blocks; Shift+Tab closes them. Returns the last line typed."""
    type_lines(page, [
        "def merge(intervals):", "Enter", "result = []", "Enter",
        "for start, end in sorted(intervals):", "Enter",
        "if result and start <= result[-1][1]:", "Enter",
        "result[-1][1] = max(result[-1][1], end)", "Enter", "Shift+Tab", "else:", "Enter",
        "result.append([start, end])", "Enter", "Shift+Tab", "Shift+Tab", "return result",
    ])
    assert code_text(page) == (
        "def merge(intervals):\n"
        "    result = []\n"
        "    for start, end in sorted(intervals):\n"
        "        if result and start <= result[-1][1]:\n"
        "            result[-1][1] = max(result[-1][1], end)\n"
        "        else:\n"
        "            result.append([start, end])\n"
        "    return result"
    )
    return "return result"


def type_sql_with_indent_keys(page) -> str:
    """SQL keeps the line's indentation on Enter; Tab indents a clause. Returns the last line typed."""
    type_lines(page, ["SELECT id, email", "Enter", "FROM users", "Enter", "Tab", "WHERE id = 1"])
    assert code_text(page) == "SELECT id, email\nFROM users\n    WHERE id = 1"
    return "WHERE id = 1"


def test_interview_mode_hides_grades_until_the_end(page, kb):
    start(page, stages=("phone_screen",), mode="interview")
    assert page.text_content(".mode-tag").strip() == "interview mode"
    answer(page, strong_answer(kb, page.get_attribute("#chat", "data-question")))
    assert page.locator("#transcript .feedback").count() == 0
    page.reload()
    assert page.locator("#transcript .feedback").count() == 0
    assert page.locator("#transcript .model-answer").count() == 0

    answer_until_done(page, kb)
    page.click("#report-link")
    page.wait_for_url(re.compile(r"/report$"))
    assert page.locator(".exchange .feedback[data-status=done]").count() >= 1
    assert page.locator("#overall .score").is_visible()


def test_reloading_mid_session_resumes_with_the_transcript_and_the_draft(page, kb):
    session_id = start(page, stages=("phone_screen", "behavioral"))
    first = strong_answer(kb, page.get_attribute("#chat", "data-question"))
    answer(page, first)
    question = page.get_attribute("#chat", "data-question")
    page.fill("#answer", "half-written thoughts about")
    turns = page.locator("#transcript li[data-seq]").count()

    page.reload()
    assert page.url.endswith(f"/s/{session_id}")
    assert page.locator("#transcript li[data-seq]").count() == turns
    assert page.locator("#transcript li.candidate .answer-text").first.inner_text() == first
    assert page.get_attribute("#chat", "data-question") == question
    assert page.input_value("#answer") == "half-written thoughts about"

    answer(page, strong_answer(kb, question))
    page.reload()
    assert page.input_value("#answer") == ""  # a sent answer's draft is gone
    assert page.locator("#transcript li.candidate[data-seq]").count() == 2


def test_a_script_answer_shows_as_text_everywhere(page):
    start(page, stages=("phone_screen",))
    answer(page, XSS)
    shown = page.locator("#transcript li.candidate .answer-text").first
    assert shown.inner_text() == XSS
    assert page.locator("#transcript li.candidate script").count() == 0
    page.reload()
    assert page.locator("#transcript li.candidate .answer-text").first.inner_text() == XSS

    page.click("#end")
    page.click("#confirm-end")
    page.wait_for_url(re.compile(r"/report$"))
    assert page.locator(".exchange .answer-text").first.inner_text() == XSS
    page.goto("/history")
    assert page.locator("#sessions li").count() == 1
    assert page.dialogs == []


def test_skip_and_end_early_from_the_keyboard(page):
    start(page, stages=("phone_screen", "behavioral"))
    page.focus("#skip")
    page.keyboard.press("Enter")
    page.wait_for_selector("#transcript li.candidate.skipped")
    page.wait_for_function("!document.getElementById('composer').classList.contains('busy')")

    page.focus("#end")
    page.keyboard.press("Enter")
    assert page.locator("#end-dialog").is_visible()
    page.keyboard.press("Escape")  # Keep going
    assert not page.locator("#end-dialog").is_visible()
    page.focus("#end")
    page.keyboard.press("Enter")
    page.focus("#confirm-end")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/report$"))
    assert "ended early" in page.inner_text(".report-head")


def test_the_countdown_warns_near_the_end_of_the_stage(browser, server):
    context = browser.new_context(base_url=server)
    page = context.new_page()
    page.clock.install()
    start(page, stages=("phone_screen",))
    assert page.locator("#time-warning").is_hidden()
    minutes = int(page.get_attribute("#progress li.current", "data-minutes"))
    page.clock.fast_forward(f"{minutes - 1:02d}:05:00" if minutes > 60 else f"{minutes - 1}:05")
    page.wait_for_selector("#time-warning:not([hidden])")
    assert "wrapping up" in page.inner_text("#time-warning")
    assert "warn" in page.get_attribute("#timer", "class")
    page.clock.fast_forward("02:00")
    page.wait_for_function("document.getElementById('time-warning').textContent.includes('Time is up')")
    context.close()


def test_a_phone_sized_screen_is_usable(browser, server, kb):
    context = browser.new_context(base_url=server, viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.goto("/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    start(page, stages=("phone_screen",))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for control in ("#answer", "#send", "#skip", "#end"):
        assert page.locator(control).is_visible()
        box = page.locator(control).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, control
    answer(page, strong_answer(kb, page.get_attribute("#chat", "data-question")))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("#transcript .feedback").last.is_visible()
    context.close()
