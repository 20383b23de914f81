"""The review JSON API: filters, transcripts, overrides with their audit trail, comments, exports, calibration."""

from __future__ import annotations

import csv
import io
import json

from coach.cli import main
from tests.support.api import auth
from tests.support.review import SCRIPT, account, api, first_grade, sessions  # noqa: F401  (fixtures)


def test_the_api_needs_a_reviewer_token(client, account, sessions):
    assert client.get("/api/review/sessions").status_code == 401
    candidate = sessions["senior"]
    assert client.get("/api/review/sessions", headers=auth(candidate["token"])).status_code == 401
    assert client.get(f"/api/review/sessions/{candidate['id']}", headers=auth(candidate["token"])).status_code == 401
    assert client.get("/api/review/sessions", headers=auth(account.token + "x")).status_code == 401
    assert client.get("/api/review/sessions", headers=api(account)).status_code == 200


def test_sessions_filter_sort_and_paginate(client, account, sessions):
    def ids(**params):
        body = client.get("/api/review/sessions", params=params, headers=api(account)).json()
        return [row["id"] for row in body["items"]], body

    senior, junior = sessions["senior"]["id"], sessions["junior"]["id"]
    assert set(ids()[0]) == {senior, junior}
    assert ids(seniority="junior")[0] == [junior]
    assert ids(score_min=3)[0] == [senior]
    assert ids(score_max=2.5)[0] == [junior]
    assert ids(sort="score", order="desc")[0] == [senior, junior]
    assert ids(sort="score", order="asc")[0] == [junior, senior]
    assert set(ids(stage="coding")[0]) == {senior, junior}
    assert ids(stage="no-such-stage")[0] == []
    assert set(ids(scorer="offline")[0]) == {senior, junior}
    assert ids(scorer="llm")[0] == []
    assert ids(reviewed=True)[0] == []
    assert set(ids(date_from="2000-01-01")[0]) == {senior, junior}
    assert ids(date_to="2000-01-01")[0] == []

    first, body = ids(per_page=1, sort="score", order="desc")
    assert first == [senior] and body["total"] == 2 and body["pages"] == 2
    assert ids(per_page=1, page=2, sort="score", order="desc")[0] == [junior]
    row = body["items"][0]
    assert row["answers"] > 0 and row["seniority"] == "senior" and row["reviewed"] is False
    assert client.get("/api/review/sessions", params={"sort": "token_hash"}, headers=api(account)).status_code == 422


def test_a_session_reads_as_a_scored_transcript(client, account, sessions):
    detail = client.get(f"/api/review/sessions/{sessions['senior']['id']}", headers=api(account)).json()
    assert [t["seq"] for t in detail["turns"]] == sorted(t["seq"] for t in detail["turns"])
    assert "token_hash" not in detail and "plan" not in detail
    graded = [t for t in detail["turns"] if t["grade"]]
    assert graded and all(t["role"] == "candidate" for t in graded)
    grade = graded[0]["grade"]
    assert grade["scorer"] == "offline" and grade["rubric_version"]
    assert grade["criteria"] and all(c["machine_score"] == c["score"] for c in grade["criteria"])
    assert SCRIPT in graded[0]["text"]
    assert client.get("/api/review/sessions/nope", headers=api(account)).status_code == 404


def test_flags_show_in_the_transcript(client, account, kb):
    from tests.support.review import injection_answer, run_session

    session = run_session(client, kb, seed=6, answer=injection_answer)
    detail = client.get(f"/api/review/sessions/{session['id']}", headers=api(account)).json()
    assert all("prompt_injection" in t["grade"]["flags"] for t in detail["turns"] if t["grade"])


def test_an_override_keeps_the_machine_score_and_joins_the_audit_trail(client, account, sessions):
    session_id = sessions["senior"]["id"]
    grade = first_grade(client, account, session_id)
    criterion = grade["criteria"][0]
    response = client.post(
        f"/api/review/grades/{grade['id']}/override",
        json={"criterion": criterion["id"], "score": 1, "comment": "No trade-offs discussed."},
        headers=api(account),
    )
    assert response.status_code == 201, response.text
    override = response.json()
    assert override["machine_score"] == criterion["machine_score"] and override["score"] == 1
    assert override["reviewer"] == account.email

    overall = client.post(
        f"/api/review/grades/{grade['id']}/override", json={"criterion": None, "score": 2.5, "comment": "Too generous."},
        headers=api(account),
    ).json()
    assert overall["machine_score"] == grade["machine_overall"]

    after = first_grade(client, account, session_id)
    changed = next(c for c in after["criteria"] if c["id"] == criterion["id"])
    assert changed["machine_score"] == criterion["machine_score"] and changed["score"] == 1 and changed["overridden"]
    assert after["machine_overall"] == grade["machine_overall"] and after["overall"] == 2.5
    assert [(o["criterion"], o["score"], o["comment"]) for o in after["overrides"]] == [
        (criterion["id"], 1, "No trade-offs discussed."), (None, 2.5, "Too generous."),
    ]


def test_an_override_is_refused_without_a_comment_or_with_a_bad_target(client, account, sessions):
    grade = first_grade(client, account, sessions["senior"]["id"])
    url = f"/api/review/grades/{grade['id']}/override"
    assert client.post(url, json={"criterion": None, "score": 3, "comment": ""}, headers=api(account)).status_code == 422
    assert client.post(url, json={"criterion": None, "score": 3, "comment": "  "}, headers=api(account)).status_code == 422
    assert client.post(url, json={"criterion": None, "score": 6, "comment": "x"}, headers=api(account)).status_code == 422
    assert client.post(url, json={"criterion": "nope", "score": 3, "comment": "x"}, headers=api(account)).status_code == 422
    criterion = grade["criteria"][0]["id"]
    assert client.post(url, json={"criterion": criterion, "score": 2.5, "comment": "x"},
                       headers=api(account)).status_code == 422
    assert client.post("/api/review/grades/999999/override", json={"criterion": None, "score": 3, "comment": "x"},
                       headers=api(account)).status_code == 404
    assert first_grade(client, account, sessions["senior"]["id"])["overrides"] == []


def test_comments_and_reviewed_flag(client, account, sessions):
    session_id = sessions["senior"]["id"]
    detail = client.get(f"/api/review/sessions/{session_id}", headers=api(account)).json()
    answer = next(t for t in detail["turns"] if t["role"] == "candidate")
    response = client.post(f"/api/review/turns/{answer['id']}/comments", json={"text": "Good start."}, headers=api(account))
    assert response.status_code == 201
    assert client.post(f"/api/review/turns/{answer['id']}/comments", json={"text": ""},
                       headers=api(account)).status_code == 422

    marked = client.post(f"/api/review/sessions/{session_id}/reviewed", json={"reviewed": True}, headers=api(account))
    assert marked.json()["reviewed"] is True
    detail = marked.json()
    assert [c["text"] for t in detail["turns"] for c in t["comments"]] == ["Good start."]
    listed = client.get("/api/review/sessions", params={"reviewed": True}, headers=api(account)).json()
    assert [row["id"] for row in listed["items"]] == [session_id]


def test_exports_carry_overrides_and_comments(client, account, sessions):
    session_id = sessions["senior"]["id"]
    grade = first_grade(client, account, session_id)
    client.post(f"/api/review/grades/{grade['id']}/override",
                json={"criterion": None, "score": 2, "comment": "Missed the failure modes."}, headers=api(account))
    detail = client.get(f"/api/review/sessions/{session_id}", headers=api(account)).json()
    answer = next(t for t in detail["turns"] if t["role"] == "candidate")
    client.post(f"/api/review/turns/{answer['id']}/comments", json={"text": "Ask about retries."}, headers=api(account))

    exported = client.get(f"/api/review/sessions/{session_id}/export.json", headers=api(account))
    assert "attachment" in exported.headers["content-disposition"]
    data = json.loads(exported.text)
    overrides = [o for t in data["turns"] if t["grade"] for o in t["grade"]["overrides"]]
    assert [(o["comment"], o["machine_score"], o["score"]) for o in overrides] == [
        ("Missed the failure modes.", grade["machine_overall"], 2)
    ]
    assert [c["text"] for t in data["turns"] for c in t["comments"]] == ["Ask about retries."]

    markdown = client.get(f"/api/review/sessions/{session_id}/export.md", headers=api(account))
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "Missed the failure modes." in markdown.text and "Ask about retries." in markdown.text
    assert f"overall {grade['machine_overall']:g} → 2" in markdown.text


def test_the_csv_has_one_row_per_answer_and_criterion(client, account, sessions):
    response = client.get("/api/review/export/grades.csv", headers=api(account))
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    expected = []
    for session in sessions.values():
        detail = client.get(f"/api/review/sessions/{session['id']}", headers=api(account)).json()
        for turn in detail["turns"]:
            if turn["grade"]:
                expected += [(turn["id"], c["id"]) for c in turn["grade"]["criteria"]] or [(turn["id"], None)]
    assert sorted((int(r["turn_id"]), r["criterion_id"] or None) for r in rows) == sorted(expected)
    assert all(r["answer"] for r in rows) and {r["scorer"] for r in rows} == {"offline"}


def test_csv_cells_cannot_become_spreadsheet_formulas(client, account, kb):
    from tests.support.review import run_session

    run_session(client, kb, seed=2, answer=lambda kb, q: '=HYPERLINK("http://evil")')
    rows = list(csv.DictReader(io.StringIO(client.get("/api/review/export/grades.csv", headers=api(account)).text)))
    assert rows and all(r["answer"].startswith("'=") for r in rows)


def test_insights_and_eval_from_reviews(client, account, sessions, settings, monkeypatch, capsys):
    for session in sessions.values():
        grade = first_grade(client, account, session["id"])
        client.post(f"/api/review/grades/{grade['id']}/override",
                    json={"criterion": None, "score": 1, "comment": "Lower."}, headers=api(account))
    client.post(f"/api/review/sessions/{sessions['junior']['id']}/reviewed", json={"reviewed": True},
                headers=api(account))
    insights = client.get("/api/review/insights", headers=api(account)).json()
    assert insights["overrides"]["count"] == 2 and insights["overrides"]["answers_overridden"] == 2
    assert set(insights["by_stage"]) >= {"phone_screen", "coding"}
    assert insights["agreement"]["n"] >= 2 and insights["agreement"]["mean_absolute_error"] is not None

    monkeypatch.setenv("COACH_DATABASE_URL", settings.sqlalchemy_url)
    from coach.config import get_settings

    get_settings.cache_clear()
    assert main(["eval", "--from-reviews", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures == insights["agreement"]
    assert main(["eval", "--from-reviews"]) == 0
    out = capsys.readouterr().out
    assert f"answers: {figures['n']}" in out and "mean absolute error" in out
