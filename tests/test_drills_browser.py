"""A drill in a real Chromium: retry one question from the report, then see both attempts in the history."""

from __future__ import annotations

import re

import pytest

from tests.support.answers import strong_answer, weak_answer
from tests.test_browser import answer_until_done, page, server, start  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_a_drill_retries_one_question_and_the_history_shows_both_attempts(page, kb):  # noqa: F811
    original = start(page, stages=("phone_screen",))
    answer_until_done(page, kb, compose=lambda kb, question_id: weak_answer())
    page.click("#report-link")
    page.wait_for_url(re.compile(r"/report$"))

    retry = page.locator(".exchange form.drill button").first
    question_id = retry.get_attribute("data-drill-question")
    retry.click()
    page.wait_for_url(re.compile(r"/s/[0-9a-f]+$"))
    drill = page.url.rsplit("/", 1)[-1]
    assert drill != original
    assert page.get_attribute("#chat", "data-question") == question_id
    answer_until_done(page, kb, compose=strong_answer)

    page.goto("/history")
    comparison = page.locator(f"#drills .comparison[data-question='{question_id}']")
    comparison.wait_for()
    columns = comparison.locator("thead th[data-session]")
    assert [columns.nth(i).get_attribute("data-session") for i in range(columns.count())] == [original, drill]
    assert comparison.locator("tr.attempt-score .change.up").count() == 1
    assert comparison.locator("tr.attempt-changes .gained").count() >= 1
    assert page.locator(f"#sessions li[data-session='{drill}'] .drill-of").is_visible()
