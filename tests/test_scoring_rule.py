"""One scoring rule everywhere: the candidate's report, the reviewer's list and transcript, the
exports and the API show the same overall; skips are unanswered, unreached stages have no signal,
an interview ended early is incomplete, and a reviewer's override reaches the candidate."""

from __future__ import annotations

import csv
import io
import json

from tests.support.answers import strong_answer
from tests.support.api import auth
from tests.support.review import account, api  # noqa: F401  (fixtures)
from tests.test_pages import begin, soup


def answer_all_but_one(client, kb, session_id: str, token: str) -> None:
    """Answer every question with a strong answer, except the second main question: skipped."""
    question = client.get(f"/api/sessions/{session_id}", headers=auth(token)).json()["question"]
    asked, skipped = [], None
    for _ in range(60):
        asked += [] if question["id"] in asked else [question["id"]]
        if len(asked) == 2 and skipped is None:
            skipped = question["id"]
            response = client.post(f"/api/sessions/{session_id}/skip", headers=auth(token))
        else:
            text = strong_answer(kb, question["id"])
            response = client.post(f"/api/sessions/{session_id}/answers", json={"text": text}, headers=auth(token))
        assert response.status_code == 200, response.text
        if response.json()["done"]:
            assert skipped is not None, "the plan had a single question"
            return
        question = response.json()["question"]
    raise AssertionError("the interview never finished")


def report_of(client, session_id: str, token: str) -> dict:
    response = client.get(f"/api/sessions/{session_id}/report", headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


def test_one_overall_across_report_reviewer_list_transcript_and_exports(client, kb, account):
    session_id, token = begin(client, stages=("phone_screen", "behavioral"))
    answer_all_but_one(client, kb, session_id, token)
    detail = client.get(f"/api/review/sessions/{session_id}", headers=api(account)).json()
    graded = next(t["grade"] for t in detail["turns"] if t["grade"] and t["grade"]["status"] == "done")
    client.post(f"/api/review/grades/{graded['id']}/override",
                json={"criterion": None, "score": 1.5, "comment": "Not as strong as it reads."}, headers=api(account))

    report = report_of(client, session_id, token)
    overall = report["overall"]
    assert overall is not None and any(q["status"] == "unanswered" for q in report["questions"])
    listed = client.get("/api/review/sessions", headers=api(account)).json()["items"]
    transcript = client.get(f"/api/review/sessions/{session_id}", headers=api(account)).json()
    exported = json.loads(client.get(f"/api/review/sessions/{session_id}/export.json", headers=api(account)).text)
    markdown = client.get(f"/api/review/sessions/{session_id}/export.md", headers=api(account)).text
    rows = list(csv.DictReader(io.StringIO(client.get("/api/review/export/grades.csv", headers=api(account)).text)))
    page = soup(client.get(f"/s/{session_id}/report"))

    assert [row["score"] for row in listed if row["id"] == session_id] == [overall]
    assert transcript["score"] == overall and exported["score"] == overall
    assert f"- Overall score: {overall:g}\n" in markdown
    assert rows and {r["session_overall"] for r in rows if r["session_id"] == session_id} == {str(overall)}
    assert page.select_one("#overall .score").get_text(strip=True) == f"{overall:.1f}/5"


def test_a_reviewers_override_reaches_the_candidates_report_marked_as_reviewed(client, kb, account):
    session_id, token = begin(client, stages=("phone_screen",))
    answer_all_but_one(client, kb, session_id, token)
    before = report_of(client, session_id, token)
    assert before["reviewed"] is False and before["machine_overall"] == before["overall"]
    detail = client.get(f"/api/review/sessions/{session_id}", headers=api(account)).json()
    turn = next(t for t in detail["turns"] if t["grade"] and t["grade"]["status"] == "done")
    new_score = 5.0 if turn["grade"]["overall"] < 3 else 1.0
    client.post(f"/api/review/grades/{turn['grade']['id']}/override",
                json={"criterion": None, "score": new_score, "comment": "Calibrated by hand."}, headers=api(account))

    after = report_of(client, session_id, token)
    assert after["reviewed"] is True and after["overall"] != before["overall"]
    assert after["machine_overall"] == before["overall"]  # the machine's score is kept beside it
    reviewed = [q for q in after["questions"] if q["reviewed"]]
    assert [(q["score"], q["machine_score"]) for q in reviewed] == [(new_score, turn["grade"]["machine_overall"])]
    page = soup(client.get(f"/s/{session_id}/report"))
    assert f"machine score {before['overall']:g}" in page.select_one("#reviewed-mark").get_text()
    answer = page.select_one(f"#answer-{turn['id']} .reviewed-score").get_text(" ", strip=True)
    assert answer.startswith(f"Reviewed: {new_score:g}/5") and f"machine {turn['grade']['machine_overall']:g}" in answer


def test_an_interview_ended_early_is_incomplete_and_unreached_stages_have_no_signal(client, kb, account):
    session_id, token = begin(client, stages=("phone_screen", "coding", "behavioral"))
    question = client.get(f"/api/sessions/{session_id}", headers=auth(token)).json()["question"]
    client.post(f"/api/sessions/{session_id}/answers", json={"text": strong_answer(kb, question["id"])},
                headers=auth(token))
    client.post(f"/api/sessions/{session_id}/finish", headers=auth(token))

    report = report_of(client, session_id, token)
    assert report["incomplete"] is True and report["signal"] is None and report["overall"] is not None
    assert [(s["stage"], s["status"]) for s in report["stages"]] == [
        ("phone_screen", "scored"), ("coding", "not_reached"), ("behavioral", "not_reached")]
    assert all(s["signal"] is None and s["score"] is None for s in report["stages"][1:])
    assert "Covers 1 of 3 stages" in report["coverage"]["summary"]
    page = soup(client.get(f"/s/{session_id}/report"))
    assert page.select_one("#coverage").get_text().startswith("Incomplete interview.")
    unreached = page.select('#stage-results li[data-status="not_reached"]')
    assert [li["data-stage"] for li in unreached] == ["coding", "behavioral"]
    assert all(li.select_one(".signal").get_text() == "Not reached" for li in unreached)
    listed = client.get("/api/review/sessions", headers=api(account)).json()["items"]
    assert [row["score"] for row in listed if row["id"] == session_id] == [report["overall"]]


def test_a_skipped_question_shows_as_unanswered_on_the_report(client, kb):
    session_id, token = begin(client, stages=("phone_screen",))
    answer_all_but_one(client, kb, session_id, token)
    page = soup(client.get(f"/s/{session_id}/report"))
    assert page.select(".exchange .unanswered") and "unanswered" in page.select_one("#stage-results li").get_text()
