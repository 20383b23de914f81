"""Drills on the pages: retry buttons on the report and the history, and the attempts side by side."""

from __future__ import annotations

import sqlalchemy as sa

from coach import store
from tests.support.answers import strong_answer, weak_answer
from tests.support.api import auth
from tests.test_pages import answer, begin, soup, web  # noqa: F401 - `web` is a fixture


def finish_weakly(web, kb, session_id, token) -> list[str]:
    """Answer every question weakly until the session ends; the main question ids asked (no invitation)."""
    asked, question = [], web.get(f"/api/sessions/{session_id}", headers=auth(token)).json()["question"]
    invitations = set(kb.formats.candidate_questions.stages.values())
    for _ in range(40):
        if question["id"] not in invitations:
            asked.append(question["id"])
        body = answer(web, session_id, token, weak_answer())
        if body["done"]:
            return list(dict.fromkeys(asked))
        question = body["question"]
    raise AssertionError("never finished")


def session_count(web) -> int:
    with web.app.state.service.db_engine.connect() as db:
        return db.execute(sa.select(sa.func.count()).select_from(store.SESSIONS)).scalar_one()


def test_the_report_offers_each_question_and_stage_once_and_the_history_compares_the_attempts(web, kb):
    original, token = begin(web, stages=("phone_screen",))
    asked = finish_weakly(web, kb, original, token)
    report = soup(web.get(f"/s/{original}/report"))
    buttons = [b["data-drill-question"] for b in report.select(".exchange form.drill button")]
    assert buttons == asked  # the first answer to each question carries it, the follow-ups do not
    assert [b["data-drill-stage"] for b in report.select("#stage-results form.drill button")] == ["phone_screen"]
    assert report.select_one(".exchange form.drill")["action"] == f"/s/{original}/drills"

    response = web.post(f"/s/{original}/drills", data={"question_id": asked[0]}, follow_redirects=False)
    assert response.status_code == 303
    drill_id = response.headers["location"].rsplit("/", 1)[-1]
    chat_page = soup(web.get(f"/s/{drill_id}"))  # the browser now holds the drill
    chat = chat_page.select_one("#chat")
    assert chat["data-question"] == asked[0]
    note = chat_page.select_one("#drill-of")
    assert kb.questions[asked[0]].prompt in note.get_text() and note.a["href"] == f"/s/{original}/report"
    body = answer(web, drill_id, chat["data-token"], strong_answer(kb, asked[0]))
    while not body["done"]:
        body = answer(web, drill_id, chat["data-token"], strong_answer(kb, body["question"]["id"]))

    history = soup(web.get("/history"))
    row = history.select_one(f'#sessions li[data-session="{drill_id}"]')
    assert kb.questions[asked[0]].prompt in row.select_one(".drill-of").get_text()
    [comparison] = history.select("#drills .comparison")
    assert comparison["data-question"] == asked[0]
    columns = [th["data-session"] for th in comparison.select("thead th[data-session]")]
    assert columns == [original, drill_id]
    scores = [td.get_text(" ", strip=True) for td in comparison.select("tr.attempt-score td")]
    api = web.get(f"/api/sessions/{drill_id}/drills", headers=auth(chat["data-token"])).json()
    before, after = api["comparisons"][0]["attempts"]
    assert scores[0] == f"{before['score']:.1f}" and scores[1] == f"{after['score']:.1f} {after['change']:+.1f}"
    assert after["change"] > 0
    gained = [s.get_text(strip=True) for s in comparison.select("tr.attempt-changes .gained")]
    points = {p["id"]: p["text"] for p in api["comparisons"][0]["key_points"]}
    assert gained == [f"+ {points[p]}" for p in after["gained"]] and gained
    again = comparison.select_one("form.drill")
    assert again["action"] == f"/s/{original}/drills" and again.select_one("input")["value"] == asked[0]
    stage_menu = history.select_one(f'#sessions li[data-session="{original}"] .drill-menu')
    assert [b["data-drill-stage"] for b in stage_menu.select("button")] == ["phone_screen"]


def test_a_drill_form_the_session_cannot_take_is_refused_and_stores_nothing(web, kb):
    original, token = begin(web, stages=("phone_screen",))
    asked = finish_weakly(web, kb, original, token)
    running, _ = begin(web, stages=("phone_screen",))
    never_asked = next(q.id for q in kb.questions_for("phone_screen", "senior") if q.id not in asked)
    before = session_count(web)
    for target, data, status in [
        (original, {"question_id": never_asked}, 422),
        (original, {"stage": "coding"}, 422),
        (original, {}, 422),
        (original, {"question_id": asked[0], "stage": "phone_screen"}, 422),
        (running, {"stage": "phone_screen"}, 409),
    ]:
        response = web.post(f"/s/{target}/drills", data=data, follow_redirects=False)
        assert response.status_code == status, response.text
        assert soup(response).select_one("#problem p").get_text(strip=True)
    cookies = dict(web.cookies)
    web.cookies.clear()  # another browser: the session is not its own
    assert web.post(f"/s/{original}/drills", data={"question_id": asked[0]}, follow_redirects=False).status_code == 404
    web.cookies.update(cookies)
    assert session_count(web) == before
