"""The candidate's JSON API, end to end on the offline interviewer and scorer."""

from __future__ import annotations

from fastapi.testclient import TestClient

from coach.api.app import create_app
from tests.support.answers import strong_answer
from tests.support.api import auth, start


def run_interview(client, kb, session: dict, answer=strong_answer) -> list[dict]:
    """Answer every question (and follow-up) until the session is done; returns the answer responses."""
    results, question = [], session["question"]
    for _ in range(60):
        response = client.post(
            f"/api/sessions/{session['id']}/answers", json={"text": answer(kb, question["id"])},
            headers=auth(session["token"]),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        results.append(body)
        if body["done"]:
            return results
        question = body["question"]
    raise AssertionError("the interview never finished")


def test_tracks_list_stages_with_minutes(client):
    tracks = client.get("/api/tracks").json()
    track = next(t for t in tracks if t["id"] == "backend-developer")
    assert track["seniorities"] == ["junior", "middle", "senior", "lead"]
    assert {s["id"] for s in track["stages"]} >= {"phone_screen", "coding", "system_design", "behavioral"}
    assert all(s["minutes"] > 0 and s["title"] for s in track["stages"])


def test_a_four_stage_interview_runs_to_a_report(client, kb):
    session = start(client, seed=3)
    assert session["stage"] == "phone_screen"
    assert session["question"]["text"] == kb.questions[session["question"]["id"]].prompt
    assert session["messages"][0]["role"] == "interviewer"

    results = run_interview(client, kb, session)
    stages_seen = {r["stage"] for r in results[:-1]}
    assert stages_seen == {"phone_screen", "coding", "system_design", "behavioral"}
    assert all(r["grade"]["status"] == "done" and r["grade"]["scorer"] == "offline" for r in results)

    report = client.get(f"/api/sessions/{session['id']}/report", headers=auth(session["token"])).json()
    assert [s["stage"] for s in report["stages"]] == ["phone_screen", "coding", "system_design", "behavioral"]
    assert all(s["signal"] in {"strong_no", "no", "yes", "strong_yes"} for s in report["stages"])
    assert report["overall"] >= 3.0, report  # strong answers make a passing report
    assert report["criteria"] and all(1 <= c["score"] <= 5 for c in report["criteria"])
    for improvement in report["improvements"]:
        stage = kb.track("backend-developer").stage(improvement["stage"])
        assert improvement["tip"]["id"] in {t.id for t in stage.preparation_tips}


def test_every_grade_quotes_the_answer_verbatim(client, kb):
    session = start(client, seed=5)
    results = run_interview(client, kb, session)
    transcript = client.get(f"/api/sessions/{session['id']}", headers=auth(session["token"])).json()
    answers = {m["id"]: m["text"] for m in transcript["messages"] if m["role"] == "candidate"}
    graded = [m for m in transcript["messages"] if m["grade"]]
    assert len(graded) == len(results)
    for message in graded:
        # a follow-up's grade covers the whole exchange on its question
        said = "\n\n".join(t for t in answers.values())
        for criterion in message["grade"]["criteria"]:
            for quote in criterion["evidence"]:
                assert quote in said


def test_transcript_and_grades_survive_a_restart(settings, kb):
    with TestClient(create_app(settings)) as first:
        session = start(first, seed=1)
        first.post(f"/api/sessions/{session['id']}/answers", json={"text": strong_answer(kb, session["question"]["id"])},
                   headers=auth(session["token"]))
        before = first.get(f"/api/sessions/{session['id']}", headers=auth(session["token"])).json()

    with TestClient(create_app(settings)) as second:
        after = second.get(f"/api/sessions/{session['id']}", headers=auth(session["token"])).json()
    assert after["messages"] == before["messages"]
    assert after["messages"][1]["grade"]["status"] == "done"


def test_another_token_cannot_read_the_session(client):
    mine, theirs = start(client), start(client)
    for headers in ({}, auth(theirs["token"]), auth("not-a-token"), {"Authorization": "Basic abc"}):
        assert client.get(f"/api/sessions/{mine['id']}", headers=headers).status_code == 404
        response = client.post(f"/api/sessions/{mine['id']}/answers", json={"text": "hello there"}, headers=headers)
        assert response.status_code == 404
    assert client.get(f"/api/sessions/{mine['id']}", headers=auth(mine["token"])).status_code == 200


def test_interview_mode_hides_grades_until_the_end(client, kb):
    session = start(client, mode="interview", seed=2, stages=["phone_screen"])
    first = client.post(f"/api/sessions/{session['id']}/answers",
                        json={"text": strong_answer(kb, session["question"]["id"])}, headers=auth(session["token"]))
    assert first.json()["grade"] is None
    during = client.get(f"/api/sessions/{session['id']}", headers=auth(session["token"])).json()
    assert all(m["grade"] is None for m in during["messages"])

    client.post(f"/api/sessions/{session['id']}/finish", headers=auth(session["token"]))
    report = client.get(f"/api/sessions/{session['id']}/report", headers=auth(session["token"])).json()
    assert report["pending"] == 0 and report["stages"][0]["stage"] == "phone_screen"
    after = client.get(f"/api/sessions/{session['id']}", headers=auth(session["token"])).json()
    assert [m["grade"]["status"] for m in after["messages"] if m["role"] == "candidate"] == ["done"]


def test_bad_input_gets_4xx_and_changes_nothing(client, settings):
    session = start(client)
    url, headers = f"/api/sessions/{session['id']}/answers", auth(session["token"])
    before = client.get(f"/api/sessions/{session['id']}", headers=headers).json()

    bad_requests = [
        client.post("/api/sessions", json={"track": "astronaut"}),
        client.post("/api/sessions", json={"stages": ["phone_screen", "tea_break"]}),
        client.post("/api/sessions", json={"seniority": "wizard"}),
        client.post("/api/sessions", json={"mode": "karaoke"}),
        client.post(url, json={"text": ""}, headers=headers),
        client.post(url, json={"text": "   \n "}, headers=headers),
        client.post(url, json={"text": "x" * (settings.max_answer_chars + 1)}, headers=headers),
        client.post(url, content=b"{not json", headers={**headers, "Content-Type": "application/json"}),
        client.post(url, json={"answer": "wrong field"}, headers=headers),
        client.post(url, content=b"x" * (settings.max_body_bytes + 1), headers=headers),
    ]
    for response in bad_requests:
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["detail"]
    assert client.get(f"/api/sessions/{session['id']}", headers=headers).json() == before


def test_a_finished_session_takes_no_more_answers(client):
    session = start(client)
    headers = auth(session["token"])
    client.post(f"/api/sessions/{session['id']}/finish", headers=headers)
    before = client.get(f"/api/sessions/{session['id']}", headers=headers).json()
    response = client.post(f"/api/sessions/{session['id']}/answers", json={"text": "one more thing"}, headers=headers)
    assert response.status_code == 409 and "finished" in response.json()["detail"]
    assert client.get(f"/api/sessions/{session['id']}", headers=headers).json() == before


def test_a_repeated_idempotency_key_creates_one_turn(client, kb):
    session = start(client)
    headers = {**auth(session["token"]), "Idempotency-Key": "answer-1"}
    text = strong_answer(kb, session["question"]["id"])
    first = client.post(f"/api/sessions/{session['id']}/answers", json={"text": text}, headers=headers).json()
    again = client.post(f"/api/sessions/{session['id']}/answers", json={"text": text}, headers=headers).json()
    assert again["turn_id"] == first["turn_id"] and again["reply"] == first["reply"]
    messages = client.get(f"/api/sessions/{session['id']}", headers=headers).json()["messages"]
    assert [m["role"] for m in messages] == ["interviewer", "candidate", "interviewer"]


def test_skipping_moves_on_without_a_grade(client):
    session = start(client, stages=["phone_screen"], seed=4)
    response = client.post(f"/api/sessions/{session['id']}/skip", headers=auth(session["token"])).json()
    assert response["grade"] is None
    assert response["question"]["id"] != session["question"]["id"]
