"""Stage formats as data: lengths that match the clock, phased system design and coding, the
candidate's own questions, and an interviewer who listens (offline, through the API)."""

from __future__ import annotations

from datetime import datetime

import pytest

from coach.engine import INVITE, advance, build_plan, start, take_question
from coach.formats import covered_points, phase_key_points
from tests.support.answers import strong_answer
from tests.support.api import auth
from tests.support.api import start as start_session

T0 = datetime(2026, 1, 1, 9, 0)
DEFAULT = ["phone_screen", "coding", "system_design", "behavioral"]


def test_a_full_senior_loop_fills_the_real_time(kb):
    plan = build_plan(kb, track="backend-developer", seniority="senior", length="full", seed=5)
    stages = {s.stage: s for s in plan.stages}
    assert len(stages["phone_screen"].question_ids) >= 4
    assert stages["system_design"].phases == ["requirements", "capacity", "high_level", "deep_dive", "trade_offs"]
    assert stages["coding"].phases == ["clarify", "approach", "code", "test", "complexity"]
    assert len(stages["behavioral"].question_ids) >= 2 and stages["behavioral"].follow_up_depth >= 2
    assert plan.minutes == sum(kb.track("backend-developer").stage(s).minutes for s in DEFAULT)


@pytest.mark.parametrize("stages", [None, ["technical", "behavioral"], ["phone_screen", "technical", "coding",
                                                                         "system_design", "architecture_deep_dive",
                                                                         "behavioral", "final"]])
def test_quick_is_about_twenty_minutes_and_standard_sits_between(kb, stages):
    plans = {length: build_plan(kb, track="backend-developer", seniority="middle", stages=stages, length=length)
             for length in ("quick", "standard", "full")}
    assert 17 <= plans["quick"].minutes <= 23
    assert plans["quick"].minutes < plans["standard"].minutes < plans["full"].minutes
    asked = {length: sum(len(s.question_ids) + len(s.phases) for s in plan.stages) for length, plan in plans.items()}
    assert asked["quick"] <= asked["standard"] <= asked["full"]


def test_an_unknown_length_is_refused(client):
    response = client.post("/api/sessions", json={"length": "endless"})
    assert response.status_code == 422 and "length" in response.text


def test_a_phased_stage_walks_every_phase_then_moves_on(kb):
    plan = build_plan(kb, track="backend-developer", seniority="senior", stages=["system_design", "behavioral"],
                      length="full")
    cursor, step = start(plan, T0)
    seen = [step.phase]
    while step.stage == "system_design":
        cursor, step = advance(plan, cursor, now=T0)
        seen.append(step.phase if step.stage == "system_design" else step.stage)
    assert seen == ["requirements", "capacity", "high_level", "deep_dive", "trade_offs", "behavioral"]


def test_a_question_to_the_interviewer_keeps_the_phase(kb):
    plan = build_plan(kb, track="backend-developer", seniority="senior", stages=["system_design"], length="full")
    cursor, _ = start(plan, T0)
    moved, step = take_question(plan, cursor, now=T0)
    assert step.kind == "answer_question" and step.phase == "requirements" and moved == cursor


def test_the_candidates_questions_are_counted_then_the_stage_moves_on(kb):
    plan = build_plan(kb, track="backend-developer", seniority="senior", stages=["phone_screen", "coding"],
                      length="quick")
    cursor, step = start(plan, T0)
    cursor, step = advance(plan, cursor, now=T0)
    assert step.kind == "invite_questions" and step.phase == INVITE
    cursor, step = take_question(plan, cursor, now=T0)  # quick: one question answered, then on
    assert step.answering and step.stage == "coding" and step.new_stage


def test_non_answer_gets_one_nudge_then_moves_on(kb):
    plan = build_plan(kb, track="backend-developer", seniority="middle", stages=["technical"], length="full")
    cursor, first = start(plan, T0)
    points = [f.point for f in kb.questions[first.question_id].follow_ups]
    cursor, nudge = advance(plan, cursor, now=T0, missed_points=points, follow_up_points=points, non_answer=True)
    assert nudge.kind == "nudge" and nudge.question_id == first.question_id
    cursor, after = advance(plan, cursor, now=T0, missed_points=points, follow_up_points=points, non_answer=True)
    assert after.kind == "question" and after.question_id != first.question_id and after.moving_on


def test_every_key_point_of_every_scenario_and_task_is_listened_for_in_one_phase(kb):
    for question_id, _sheet in kb.sheets.items():
        question = kb.questions[question_id]
        fmt = kb.formats.for_stage(question.stage)
        heard = [p.id for phase in fmt.phases for p in phase_key_points(kb, question_id, phase.id)]
        assert {p.id for p in question.key_points} <= set(heard), question_id
        assert covered_points(question.key_points, strong_answer(kb, question_id))[1] == []


# --- through the API ------------------------------------------------------------------------


def say(client, session, text):
    response = client.post(f"/api/sessions/{session['id']}/answers", json={"text": text},
                           headers=auth(session["token"]))
    assert response.status_code == 200, response.text
    return response.json()


def answer_to_the_end(client, kb, session, turns: int = 120) -> None:
    """Answer whatever is asked, well, until the interview closes."""
    question = session["question"]
    for _ in range(turns):
        body = say(client, session, strong_answer(kb, question["id"]))
        if body["done"]:
            return
        question = body["question"]
    raise AssertionError("the interview never finished")


def messages(client, session):
    return client.get(f"/api/sessions/{session['id']}", headers=auth(session["token"])).json()["messages"]


def test_a_clarifying_question_in_system_design_gets_the_scenarios_numbers(client, kb):
    session = start_session(client, stages=["system_design"], length="full", seed=2)
    sheet = kb.sheets[session["question"]["id"]]
    body = say(client, session, "Before I start: how many daily active users do we have, and what's the peak traffic?")
    users = next(f for f in sheet.facts if f.about.startswith(("users", "merchants", "services")))
    assert users.answer in body["reply"]["text"]
    assert body["reply"]["kind"] == "answer_question" and body["grade"] is None
    asked = messages(client, session)[-2]
    assert asked["kind"] == "candidate_question" and asked["phase"] == "requirements" and asked["grade"] is None
    nxt = say(client, session, strong_answer(kb, session["question"]["id"]))
    assert nxt["reply"]["kind"] in ("phase", "follow_up")
    answer = messages(client, session)[-2]
    assert answer["kind"] == "answer" and answer["phase"] == "requirements"  # the same phase went on
    phase = kb.formats.for_stage("system_design").phase("requirements")
    assert [c["id"] for c in nxt["grade"]["criteria"]] == phase.criteria  # graded on the phase's own criteria


def test_a_question_the_sheet_cannot_answer_is_left_to_the_candidate(client, kb):
    session = start_session(client, stages=["system_design"], length="full", seed=2)
    body = say(client, session, "Should the service be written in Rust?")
    assert body["reply"]["text"] == kb.formats.voice.no_fact


def test_a_request_to_repeat_repeats_the_question(client, kb):
    session = start_session(client, stages=["technical"], length="quick", seed=4)
    body = say(client, session, "Sorry, could you repeat that?")
    assert kb.questions[session["question"]["id"]].prompt in body["reply"]["text"]
    assert body["question"]["id"] == session["question"]["id"]


def test_the_candidates_questions_at_the_end_of_the_phone_screen_come_from_the_company(client, kb):
    session = start_session(client, stages=["phone_screen"], length="quick", seed=1)
    body = say(client, session, strong_answer(kb, session["question"]["id"]))
    for _ in range(4):  # past any follow-ups, to "What would you like to ask me?"
        if body["reply"]["kind"] == "invite_questions":
            break
        body = say(client, session, strong_answer(kb, body["question"]["id"]))
    assert body["reply"]["kind"] == "invite_questions" and body["question"]["id"] == "your-questions-phone"
    reply = say(client, session, "What are the biggest challenges facing the backend team right now?")
    challenges = next(f for f in kb.company.facts if f.about == "challenges")
    assert challenges.answer in reply["reply"]["text"]
    turns = messages(client, session)
    asked = turns[-2]
    assert asked["kind"] == "candidate_question" and asked["phase"] == INVITE
    assert asked["grade"]["status"] == "done"
    assert [c["id"] for c in asked["grade"]["criteria"]] == ["thoughtful-candidate-questions"]


def test_a_candidate_who_skips_the_requirements_is_asked_for_them(client, kb):
    session = start_session(client, stages=["system_design"], length="full", seed=2)
    body = say(client, session, "I'd put a load balancer in front of a few stateless services and a database behind them.")
    asks = next(f.prompt for f in kb.formats.for_stage("system_design").phase("requirements").follow_ups
                if f.point == "asks-scale")
    assert body["reply"]["kind"] == "follow_up" and asks in body["reply"]["text"]


def test_a_non_answer_is_nudged_once_then_the_interview_moves_on(client, kb):
    session = start_session(client, stages=["technical"], length="full", seed=4)
    first = session["question"]["id"]
    nudge = say(client, session, "Not sure, a lot probably.")
    assert nudge["reply"]["kind"] == "nudge" and nudge["question"]["id"] == first
    after = say(client, session, "No idea, sorry.")
    assert after["reply"]["kind"] == "question" and after["question"]["id"] != first
    assert kb.formats.voice.move_on in after["reply"]["text"]


def test_a_full_senior_loop_through_the_api(client, kb):
    session = start_session(client, length="full", seed=9)
    answer_to_the_end(client, kb, session)
    turns = messages(client, session)
    interviewer = [t for t in turns if t["role"] == "interviewer"]
    phone_questions = {t["question_id"] for t in interviewer if t["stage"] == "phone_screen" and t["kind"] == "question"}
    assert len(phone_questions) >= 4
    for stage, phases in (("system_design", 5), ("coding", 5)):
        assert len({t["phase"] for t in turns if t["stage"] == stage and t["role"] == "candidate"}) == phases
    assert len({t["question_id"] for t in interviewer if t["stage"] == "behavioral" and t["kind"] == "question"}) >= 2
    for before, after in zip(interviewer, interviewer[1:], strict=False):  # the interviewer never says one sentence twice running
        shared = set(before["text"].split("\n\n")) & set(after["text"].split("\n\n"))
        assert not shared, shared


def test_a_session_stored_before_formats_still_opens_continues_and_reports(client, kb, settings):
    """A plan and cursor of the old shape (no length, phases, invites or nudges) walk as they did."""
    from sqlalchemy import update

    from coach import store

    session = start_session(client, seed=3)
    engine = store.make_engine(settings.sqlalchemy_url)
    with engine.connect() as db:
        row = store.read_session(db=db, session_id=session["id"])
        old_plan = {"track": row.plan["track"], "seniority": row.plan["seniority"], "max_follow_ups": 1,
                    "stages": [{k: s[k] for k in ("stage", "minutes", "question_ids")} for s in row.plan["stages"]]}
        old_cursor = {k: row.cursor[k] for k in ("stage_index", "question_index", "follow_ups_asked",
                                                 "stage_started_at", "status")}
        db.execute(update(store.SESSIONS).where(store.SESSIONS.c.id == row.id).values(plan=old_plan, cursor=old_cursor))
        db.commit()
    engine.dispose()
    assert client.get(f"/api/sessions/{session['id']}", headers=auth(session["token"])).status_code == 200
    answer_to_the_end(client, kb, session)
    asked = [t for t in messages(client, session) if t["role"] == "interviewer" and t["kind"] == "question"]
    assert [t["question_id"] for t in asked] == [q for s in old_plan["stages"] for q in s["question_ids"]]
    report = client.get(f"/api/sessions/{session['id']}/report", headers=auth(session["token"]))
    assert report.status_code == 200 and report.json()["overall"] is not None
