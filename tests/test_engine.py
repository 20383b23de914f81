"""The session engine: plans and the walk through them, with no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from coach.engine import PlanError, advance, build_plan, end_early, start

T0 = datetime(2026, 1, 1, 9, 0)


def walk(plan, missed=()):
    """Answer every step, missing `missed` key points each time; returns the steps taken."""
    cursor, step = start(plan, T0)
    steps = [step]
    while step.kind != "close":
        cursor, step = advance(plan, cursor, now=T0, missed_points=list(missed), follow_up_points=list(missed))
        steps.append(step)
    return steps


def test_default_plan_is_the_four_usual_stages(kb):
    plan = build_plan(kb, track="backend-developer", seniority="middle", length="full")
    assert [s.stage for s in plan.stages] == ["phone_screen", "coding", "system_design", "behavioral"]
    for stage in plan.stages:
        assert stage.minutes == kb.track("backend-developer").stage(stage.stage).minutes
        assert stage.question_ids


def test_questions_fit_the_seniority_and_come_from_their_stage(kb):
    for level in ("junior", "middle", "senior", "lead"):
        plan = build_plan(kb, track="backend-developer", seniority=level, stages=None, seed=11)
        for stage in plan.stages:
            for question_id in stage.question_ids:
                question = kb.questions[question_id]
                assert question.stage == stage.stage and kb.fits(question, level)


def test_same_seed_same_plan_and_no_question_repeats(kb):
    every_stage = [s.id for s in kb.track("backend-developer").stages]
    plans = [build_plan(kb, track="backend-developer", seniority="senior", stages=every_stage, seed=42) for _ in range(2)]
    assert plans[0] == plans[1]
    asked = [q for s in plans[0].stages for q in s.question_ids]
    assert len(asked) == len(set(asked))
    others = {tuple(q for s in build_plan(kb, track="backend-developer", seniority="senior", stages=every_stage,
                                          seed=seed).stages for q in s.question_ids) for seed in range(10)}
    assert len(others) > 1  # the seed really changes the choice


def test_stages_run_in_process_order_whatever_order_is_asked(kb):
    plan = build_plan(kb, track="backend-developer", seniority="junior", stages=["behavioral", "phone_screen"])
    assert [s.stage for s in plan.stages] == ["phone_screen", "behavioral"]


@pytest.mark.parametrize("kwargs", [
    {"track": "chef", "seniority": "senior"},
    {"track": "backend-developer", "seniority": "overlord"},
    {"track": "backend-developer", "seniority": "senior", "stages": ["lunch"]},
    {"track": "backend-developer", "seniority": "senior", "stages": ["coding", "coding"]},
])
def test_bad_plans_are_refused(kb, kwargs):
    with pytest.raises(PlanError):
        build_plan(kb, **kwargs)


def test_walk_asks_each_planned_question_once_then_closes(kb):
    plan = build_plan(kb, track="backend-developer", seniority="middle", seed=7)
    steps = walk(plan)
    asked = [s.question_id for s in steps if s.kind == "question"]
    assert asked == [q for s in plan.stages for q in s.question_ids]
    assert steps[-1].kind == "close"
    assert [s.stage for s in steps if s.kind == "question" and s.new_stage] == [s.stage for s in plan.stages]


def test_a_follow_up_probes_a_missed_point_at_most_max_times(kb):
    plan = build_plan(kb, track="backend-developer", seniority="middle", seed=7, max_follow_ups=1)
    cursor, step = start(plan, T0)
    question = kb.questions[step.question_id]
    points = [f.point for f in question.follow_ups]
    assert points, "every question in the plan should have follow-ups"
    cursor, follow_up = advance(plan, cursor, now=T0, missed_points=points, follow_up_points=points)
    assert follow_up.kind == "follow_up" and follow_up.point == points[0] and follow_up.question_id == question.id
    cursor, after = advance(plan, cursor, now=T0, missed_points=points, follow_up_points=points)
    assert after.kind != "follow_up"  # the limit is one


def test_no_follow_up_when_nothing_was_missed_or_the_question_was_skipped(kb):
    plan = build_plan(kb, track="backend-developer", seniority="middle", seed=7)
    cursor, step = start(plan, T0)
    points = [f.point for f in kb.questions[step.question_id].follow_ups]
    assert advance(plan, cursor, now=T0, missed_points=[], follow_up_points=points)[1].kind == "question"
    assert advance(plan, cursor, now=T0, missed_points=points, follow_up_points=points, skipped=True)[1].kind == "question"


def test_a_stage_out_of_time_moves_to_the_next_stage(kb):
    plan = build_plan(kb, track="backend-developer", seniority="senior", seed=1)
    cursor, _ = start(plan, T0)
    late = T0 + timedelta(minutes=plan.stages[0].minutes + 1)
    cursor, step = advance(plan, cursor, now=late)
    assert step.stage == plan.stages[1].stage and step.new_stage and step.timed_out
    assert cursor.stage_started_at == late


def test_end_early(kb):
    plan = build_plan(kb, track="backend-developer", seniority="senior", seed=1)
    cursor, _ = start(plan, T0)
    cursor, step = end_early(cursor)
    assert cursor.status == "ended" and step.kind == "close"
    with pytest.raises(ValueError):
        advance(plan, cursor, now=T0)
