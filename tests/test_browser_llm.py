"""The web chat with an LLM (our fake OpenAI-compatible server): streamed turns, LLM grades, report."""

from __future__ import annotations

import pytest

from coach.api.app import create_app
from tests.support.fake_llm import FakeLLM, running, serve
from tests.test_browser import answer_until_done, start
from tests.test_e2e_llm import llm_settings


@pytest.fixture
def llm_page(browser, tmp_path):
    fake = FakeLLM(latency=0.05, chunk_delay=0.01)
    with running(fake) as llm_url, serve(create_app(llm_settings(tmp_path, llm_url))) as url:
        context = browser.new_context(base_url=url, viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.set_default_timeout(20_000)
        page.fake = fake
        yield page
        assert not page.errors, page.errors
        context.close()


def test_a_four_stage_interview_with_the_llm_ends_on_the_report(llm_page, kb):
    page = llm_page
    page.goto("/")
    assert "Graded by an LLM" in page.inner_text("main") and "fake-judge" in page.inner_text("main")
    start(page, stages=("phone_screen", "coding", "system_design", "behavioral"))
    answer_until_done(page, kb)

    cards = page.locator(".feedback .scorer")
    assert cards.count() >= 4
    assert all("LLM (fake-judge)" in text for text in cards.all_inner_texts())
    streamed = [r for r in page.fake.requests if r.get("stream")]
    assert streamed, "the interviewer's turns were streamed from the LLM"

    page.click("text=See your report")
    page.wait_for_url("**/report")
    report = page.inner_text("main")
    assert "Phone Screen" in report and "Behavioral" in report
    assert page.locator("mark.evidence").count() > 0  # the LLM's quotes highlighted in the answers
