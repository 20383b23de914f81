"""Drills: retry one question or one stage of a finished session, compare the attempts (API, both databases)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from coach import store
from coach.api.app import create_app
from coach.drills import AttemptRecord, DrillError, compare, drill_plan
from coach.engine import DrillTarget, build_plan
from tests.support.answers import strong_answer, weak_answer
from tests.support.api import auth, start


def answer(client, session: dict, text: str) -> dict:
    response = client.post(f"/api/sessions/{session['id']}/answers", json={"text": text}, headers=auth(session["token"]))
    assert response.status_code == 200, response.text
    return response.json()


def run_to_end(client, kb, session: dict, compose) -> list[str]:
    """Answer until the session is done; the main question ids asked, in order."""
    asked, question = [], session["question"]
    for _ in range(40):
        if question["id"] not in asked:
            asked.append(question["id"])
        body = answer(client, session, compose(kb, question["id"]))
        if body["done"]:
            return asked
        question = body["question"]
    raise AssertionError("the session never finished")


def finished_phone_screen(client, kb, compose=lambda kb, qid: weak_answer()) -> tuple[dict, list[str]]:
    session = start(client, stages=["phone_screen"], seed=4, length="quick")
    return session, run_to_end(client, kb, session, compose)


def drill(client, session: dict, **target):
    return client.post(f"/api/sessions/{session['id']}/drills", json=target, headers=auth(session["token"]))


def session_rows(client) -> list[tuple]:
    with client.app.state.service.db_engine.connect() as db:
        return [tuple(r) for r in db.execute(sa.select(store.SESSIONS.c.id, store.SESSIONS.c.version)).all()]


# --- the API ---------------------------------------------------------------------------------


def test_a_question_drill_retries_that_question_and_compares_the_attempts(client, kb):
    original, asked = finished_phone_screen(client, kb)
    question_id = next(q for q in asked if kb.questions[q].stage == "phone_screen")

    response = drill(client, original, question_id=question_id)
    assert response.status_code == 201, response.text
    retry = response.json()
    assert retry["id"] != original["id"] and retry["token"] != original["token"]
    assert retry["drill_of"] == original["id"] and retry["drill"] == {"question_id": question_id, "stage": None}
    assert retry["question"]["id"] == question_id and retry["stage"] == "phone_screen"

    assert run_to_end(client, kb, retry, strong_answer) == [question_id]  # that question only
    read = client.get(f"/api/sessions/{retry['id']}", headers=auth(retry["token"])).json()
    assert read["drill_of"] == original["id"]

    body = client.get(f"/api/sessions/{original['id']}/drills", headers=auth(original["token"])).json()
    assert body["original"] == original["id"]
    [comparison] = body["comparisons"]
    assert comparison["target"]["question_id"] == question_id
    assert comparison["title"] == kb.questions[question_id].prompt
    before, after = comparison["attempts"]
    assert (before["session_id"], before["drill"]) == (original["id"], False)
    assert (after["session_id"], after["drill"]) == (retry["id"], True)
    assert after["score"] > before["score"] and after["change"] == round(after["score"] - before["score"], 1)
    every_point = {p["id"] for p in comparison["key_points"]}
    assert set(after["covered"]) == every_point  # the strong answer names every key point
    assert set(after["gained"]) == every_point - set(before["covered"]) and after["lost"] == []
    # the drill's own token sees the same comparison; the original's report is unchanged by it
    assert client.get(f"/api/sessions/{retry['id']}/drills", headers=auth(retry["token"])).json() == body
    report = client.get(f"/api/sessions/{original['id']}/report", headers=auth(original["token"])).json()
    assert report["overall"] == before["score"]


def test_a_stage_drill_asks_the_stage_again_and_a_drill_of_a_drill_links_to_the_original(client, kb):
    original = start(client, stages=["phone_screen", "behavioral"], seed=9, length="quick")
    first_question = original["question"]["id"]
    answer(client, original, weak_answer())
    client.post(f"/api/sessions/{original['id']}/finish", headers=auth(original["token"]))

    # a stage the interview never reached is still one the session had
    behavioral = drill(client, original, stage="behavioral")
    assert behavioral.status_code == 201, behavioral.text
    assert behavioral.json()["stage"] == "behavioral"

    response = drill(client, original, stage="phone_screen")
    assert response.status_code == 201, response.text
    retry = response.json()
    assert retry["question"]["id"] == first_question
    asked = run_to_end(client, kb, retry, strong_answer)
    assert {kb.questions[q].stage for q in asked} == {"phone_screen"}

    again = drill(client, retry, question_id=first_question)
    assert again.status_code == 201, again.text
    assert again.json()["drill_of"] == original["id"]  # one family: every attempt sits beside the original
    run_to_end(client, kb, again.json(), strong_answer)

    comparisons = client.get(f"/api/sessions/{original['id']}/drills", headers=auth(original["token"])).json()
    targets = {(c["target"]["stage"], c["target"]["question_id"]): c for c in comparisons["comparisons"]}
    # the unfinished behavioral drill is left out: a running session shows no grades
    assert set(targets) == {("phone_screen", None), (None, first_question)}
    stage_attempts = targets[("phone_screen", None)]["attempts"]
    assert [a["session_id"] for a in stage_attempts] == [original["id"], retry["id"]]
    assert stage_attempts[1]["score"] > stage_attempts[0]["score"]
    question_attempts = targets[(None, first_question)]["attempts"]
    assert [a["session_id"] for a in question_attempts] == [original["id"], again.json()["id"]]


def test_a_drill_of_what_the_session_never_asked_gets_a_4xx_and_stores_nothing(client, kb):
    original, asked = finished_phone_screen(client, kb)
    never_asked = next(q.id for q in kb.questions_for("phone_screen", "senior") if q.id not in asked)
    invite = kb.formats.candidate_questions.stages["phone_screen"]
    other = start(client, stages=["phone_screen"])
    before = session_rows(client)
    refused = [
        (drill(client, original, question_id=never_asked), 422),
        (drill(client, original, question_id="no-such-question"), 422),
        (drill(client, original, question_id=invite), 422),  # the stage's closing invitation is no question
        (drill(client, original, stage="system_design"), 422),  # a stage it did not have
        (drill(client, original, stage="tea_break"), 422),
        (drill(client, original), 422),
        (drill(client, original, question_id=asked[0], stage="phone_screen"), 422),
        (drill(client, original, question="wrong field"), 422),
        (drill(client, other, question_id=other["question"]["id"]), 409),  # still running
        (client.post(f"/api/sessions/{original['id']}/drills", json={"question_id": asked[0]},
                     headers=auth(other["token"])), 404),  # another session's token
        (client.post(f"/api/sessions/{original['id']}/drills", json={"question_id": asked[0]}), 404),
    ]
    for response, status in refused:
        assert response.status_code == status, response.text
        assert response.json()["detail"]
    assert never_asked in refused[0][0].json()["detail"]
    assert session_rows(client) == before
    assert client.get(f"/api/sessions/{original['id']}/drills", headers=auth(original["token"])).json()[
        "comparisons"] == []


def test_a_session_stored_before_drills_still_opens_continues_reports_and_drills(client, kb):
    session = start(client, stages=["phone_screen"], seed=2)
    engine = client.app.state.service.db_engine
    with engine.begin() as db:  # as an older version stored it: no drill in the plan, no link
        row = db.execute(sa.select(store.SESSIONS.c.plan).where(store.SESSIONS.c.id == session["id"])).scalar_one()
        old_plan = {k: v for k, v in row.items() if k != "drill"}
        db.execute(sa.update(store.SESSIONS).where(store.SESSIONS.c.id == session["id"]).values(plan=old_plan))
    read = client.get(f"/api/sessions/{session['id']}", headers=auth(session["token"]))
    assert read.status_code == 200 and read.json()["drill_of"] is None and read.json()["drill"] is None
    question_id = session["question"]["id"]
    answer(client, session, weak_answer())
    client.post(f"/api/sessions/{session['id']}/finish", headers=auth(session["token"]))
    report = client.get(f"/api/sessions/{session['id']}/report", headers=auth(session["token"]))
    assert report.status_code == 200 and report.json()["stages"][0]["stage"] == "phone_screen"
    assert drill(client, session, question_id=question_id).status_code == 201


def test_the_migration_keeps_sessions_stored_before_it(tmp_path, kb):
    from alembic import command

    from coach.config import Settings
    from coach.migrations import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = store.make_engine(url)
    command.upgrade(alembic_config(engine), "0005")
    plan = build_plan(kb, track="backend-developer", seniority="senior", stages=["phone_screen"], seed=1)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("sessions")}
    assert "drill_of" not in columns
    values = {"id": "old1", "token_hash": store.hash_token("old-token"), "track": "backend-developer",
              "seniority": "senior", "mode": "coach", "seed": 1,
              "plan": {k: v for k, v in plan.model_dump(mode="json").items() if k != "drill"},
              "cursor": {"stage_index": 0, "question_index": 0, "follow_ups_asked": [], "status": "active",
                         "stage_started_at": datetime.now(UTC).isoformat()},
              "status": "active", "version": 0, "reviewed": False, "job_description": "", "cv_summary": "",
              "created_at": datetime.now(UTC), "updated_at": datetime.now(UTC)}
    old_sessions = sa.Table("sessions", sa.MetaData(), autoload_with=engine)
    with engine.begin() as db:
        db.execute(old_sessions.insert().values(**values))
    engine.dispose()
    with TestClient(create_app(Settings(data_dir=tmp_path / "data", database_url=url))) as client:
        headers = auth("old-token")
        read = client.get("/api/sessions/old1", headers=headers)
        assert read.status_code == 200, read.text
        assert read.json()["drill_of"] is None
        reply = client.post("/api/sessions/old1/answers", json={"text": weak_answer()}, headers=headers)
        assert reply.status_code == 200, reply.text
        client.post("/api/sessions/old1/finish", headers=headers)
        assert client.get("/api/sessions/old1/report", headers=headers).status_code == 200


# --- the domain ------------------------------------------------------------------------------


def test_a_question_drill_plans_that_question_alone_with_its_share_of_the_time(kb):
    plan = build_plan(kb, track="backend-developer", seniority="senior", stages=["phone_screen", "system_design"],
                      seed=3, length="full")
    screen, design = plan.stages
    question_id = screen.question_ids[1]
    drilled = drill_plan(plan, {question_id}, DrillTarget(question_id=question_id))
    [stage] = drilled.stages
    assert (stage.stage, stage.question_ids, stage.invite) == ("phone_screen", [question_id], None)
    assert stage.minutes == round(screen.minutes / len(screen.question_ids))
    assert drilled.drill == DrillTarget(question_id=question_id)

    scenario = drill_plan(plan, {design.question_ids[0]}, DrillTarget(question_id=design.question_ids[0]))
    assert scenario.stages[0].phases == design.phases and scenario.stages[0].minutes == design.minutes
    assert drill_plan(plan, set(), DrillTarget(stage="system_design")).stages == [design]
    with pytest.raises(DrillError, match="never asked"):
        drill_plan(plan, {question_id}, DrillTarget(question_id=screen.question_ids[0]))
    with pytest.raises(DrillError, match="no stage 'coding'"):
        drill_plan(plan, {question_id}, DrillTarget(stage="coding"))


def test_the_comparison_says_what_changed_in_the_score_and_the_key_points(kb):
    plan = build_plan(kb, track="backend-developer", seniority="senior", stages=["phone_screen"], seed=1)
    question = kb.questions[plan.stages[0].question_ids[0]]
    first, second = question.key_points[0], question.key_points[1]

    def attempt(session_id, overall, said):
        grade = {"status": "done", "overall": overall}
        answers = [{"stage": "phone_screen", "question_id": question.id, "kind": "answer", "skipped": False,
                    "grade": grade}]
        return AttemptRecord(session_id=session_id, started_at=datetime.now(UTC), status="finished",
                             answers=answers, said={question.id: said})

    result = compare(kb, plan, DrillTarget(question_id=question.id), [
        attempt("a", 2.0, f"I would mention {first.terms[0]} here."),
        attempt("b", 3.5, f"Mostly {second.terms[0]}."),
    ])
    before, after = result.attempts
    assert (before.change, before.gained, before.lost) == (None, [], [])
    assert after.change == 1.5 and after.score == 3.5
    assert after.gained == [f"{question.id}:{second.id}"] and after.lost == [f"{question.id}:{first.id}"]
    assert [p.id for p in result.key_points] == [f"{question.id}:{p.id}" for p in question.key_points]


def test_reviewers_see_which_session_a_drill_retries(client, kb):
    from tests.support.review import api, login, make_reviewer, soup

    original, asked = finished_phone_screen(client, kb)
    retry = drill(client, original, question_id=asked[0]).json()
    account = make_reviewer(client.app.state.service.db_engine)
    read = client.get(f"/api/review/sessions/{retry['id']}", headers=api(account)).json()
    assert read["drill_of"] == original["id"]
    listed = client.get("/api/review/sessions", headers=api(account)).json()
    rows = {row["id"]: row for row in listed["items"]}
    assert rows[retry["id"]]["drill_of"] == original["id"] and rows[original["id"]]["drill_of"] is None
    login(client, account)
    link = soup(client.get(f"/review/sessions/{retry['id']}")).select_one("#drill-of a")
    assert link["href"] == f"/review/sessions/{original['id']}"
