"""The reviewer's workspace in a real Chromium: log in, find a session, override a score, export it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from coach.api.app import create_app
from coach.config import Settings
from tests import test_api
from tests.support.fake_llm import serve
from tests.support.review import SCRIPT, hostile_answer, make_reviewer

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path):
    """The app served by uvicorn in a thread on 127.0.0.1, on a temp data dir."""
    app = create_app(Settings(data_dir=tmp_path / "data"))
    with serve(app) as url:
        yield app, url


def _seed(app, base: str, kb) -> tuple[str, object]:
    """Two finished interviews through the live server's candidate API, and a reviewer account."""
    with httpx.Client(base_url=base, timeout=30) as http:
        senior = http.post("/api/sessions", json={"track": "backend-developer", "seniority": "senior", "seed": 3}).json()
        test_api.run_interview(http, kb, senior, answer=hostile_answer)
        junior = http.post("/api/sessions", json={"track": "backend-developer", "seniority": "junior", "seed": 4}).json()
        test_api.run_interview(http, kb, junior, answer=hostile_answer)
    return senior["id"], make_reviewer(app.state.service.db_engine)


def test_a_reviewer_logs_in_overrides_a_score_and_exports(server, browser, kb, tmp_path):
    app, base = server
    session_id, account = _seed(app, base, kb)
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    # anonymous: sent to the login page; a wrong password is refused
    page.goto(f"{base}/review/sessions")
    assert "/review/login" in page.url
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert "wrong email or password" in page.inner_text("main")
    page.fill("input[name=password]", account.password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/review/sessions")

    # find the senior session by filters
    page.select_option("select[name=seniority]", "senior")
    page.click("form.filters button[type=submit]")
    rows = page.locator("table.sessions tbody tr")
    assert rows.count() == 1
    rows.first.locator("a").click()
    page.wait_for_url(f"{base}/review/sessions/{session_id}")

    # the answer is text, its evidence highlighted, nothing ran
    answer = page.locator(".turn-candidate .answer-text").first
    assert SCRIPT in answer.inner_text()
    assert answer.locator("mark.evidence").count() > 0
    assert dialogs == []

    # override a criterion with a comment: the audit trail shows the machine's score and the new one
    grade = page.locator("section.grade").first
    criterion = grade.locator("select[name=criterion] option").nth(1)
    criterion_id, criterion_name = criterion.get_attribute("value"), criterion.inner_text()
    machine = grade.locator("table.criteria tbody tr").first.locator("td.num").first.inner_text()
    grade.locator("select[name=criterion]").select_option(criterion_id)
    grade.locator("input[name=score]").fill("1")
    grade.locator("input[name=comment]").fill("No numbers, no trade-offs.")
    grade.locator("form.override button").click()
    page.wait_for_load_state()
    grade = page.locator("section.grade").first
    trail = grade.locator(".audit li").first.inner_text()
    assert account.email in trail and criterion_id in trail and f"from {machine} to 1" in trail
    assert "No numbers, no trade-offs." in trail
    row = grade.locator("table.criteria tbody tr", has_text=criterion_name).first
    assert row.locator("td.num").all_inner_texts() == [machine, "1"]

    # exports: Markdown, JSON, and the CSV of every grade
    with page.expect_download() as markdown:
        page.click(".actions a:has-text('Markdown')")
    assert "No numbers, no trade-offs." in Path(markdown.value.path()).read_text()
    with page.expect_download() as exported:
        page.click(".actions a:has-text('JSON')")
    data = json.loads(Path(exported.value.path()).read_text())
    assert any(o["comment"] == "No numbers, no trade-offs." for t in data["turns"] if t["grade"]
               for o in t["grade"]["overrides"])
    with page.expect_download() as table:
        page.click("header a:has-text('CSV')")
    csv_text = Path(table.value.path()).read_text()
    assert csv_text.startswith("session_id,") and session_id in csv_text

    # the insights page draws its charts; logging out closes the area again
    page.click("header a:has-text('Insights')")
    assert page.locator("#stages svg").count() >= 1
    page.click("form.logout button")
    page.wait_for_url(f"{base}/review/login")
    page.goto(f"{base}/review/sessions")
    assert "/review/login" in page.url
    assert dialogs == []
    context.close()
