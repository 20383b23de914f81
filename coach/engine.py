"""The session engine: a plan of stages and questions, and a pure state machine that walks it.

Nothing here does I/O. The state is a small JSON-serialisable model so any worker can load a
session, apply one step and store it again.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from coach.knowledge import DEFAULT_STAGES, KnowledgeBase


class PlanError(ValueError):
    """The requested plan cannot be built (unknown track, stage or seniority)."""


class StagePlan(BaseModel):
    stage: str
    minutes: int
    question_ids: list[str]


class SessionPlan(BaseModel):
    track: str
    seniority: str
    stages: list[StagePlan]
    max_follow_ups: int = 1


class Cursor(BaseModel):
    """Where a session stands."""

    stage_index: int = 0
    question_index: int = 0
    follow_ups_asked: list[str] = Field(default_factory=list)  # key point ids probed for this question
    stage_started_at: datetime | None = None
    status: Literal["active", "finished", "ended"] = "active"


class Step(BaseModel):
    """What the interviewer does next."""

    kind: Literal["question", "follow_up", "close"]
    stage: str | None = None
    question_id: str | None = None
    point: str | None = None  # for a follow-up: the key point it probes
    new_stage: bool = False
    # stages passed over because their time ran out, for the interviewer to mention
    timed_out: bool = False


def build_plan(
    kb: KnowledgeBase,
    *,
    track: str,
    seniority: str,
    stages: list[str] | None = None,
    seed: int = 0,
    max_follow_ups: int = 1,
) -> SessionPlan:
    """Choose the questions for each stage, deterministically for a given seed."""
    if track not in kb.tracks:
        raise PlanError(f"unknown track {track!r}; known: {', '.join(kb.tracks)}")
    track_model = kb.track(track)
    levels = [s.id for s in track_model.seniorities]
    if seniority not in levels:
        raise PlanError(f"unknown seniority {seniority!r}; known: {', '.join(levels)}")
    stage_ids = list(stages) if stages else list(track_model.default_stages or DEFAULT_STAGES)
    known = [s.id for s in track_model.stages]
    unknown = [s for s in stage_ids if s not in known]
    if unknown:
        raise PlanError(f"unknown stage {unknown[0]!r}; known: {', '.join(known)}")
    if len(set(stage_ids)) != len(stage_ids):
        raise PlanError("a stage may appear only once")
    rng = random.Random(f"{seed}:{track}:{seniority}")
    ordered = [s for s in known if s in stage_ids]  # the real process order, whatever order was asked
    return SessionPlan(
        track=track,
        seniority=seniority,
        max_follow_ups=max_follow_ups,
        stages=[_stage_plan(kb, track_model.stage(s), seniority, rng) for s in ordered],
    )


def _stage_plan(kb: KnowledgeBase, stage, seniority: str, rng: random.Random) -> StagePlan:
    pool = sorted(q.id for q in kb.questions_for(stage.id, seniority))
    wanted = min(stage.questions_per_level.get(seniority, 1), len(pool))
    return StagePlan(stage=stage.id, minutes=stage.minutes, question_ids=rng.sample(pool, wanted))


def start(plan: SessionPlan, now: datetime) -> tuple[Cursor, Step]:
    cursor = Cursor(stage_started_at=now)
    return cursor, _ask(plan, cursor, new_stage=True)


def current_question(plan: SessionPlan, cursor: Cursor) -> tuple[str, str] | None:
    """(stage, question id) being asked, or None once the session is over."""
    if cursor.status != "active":
        return None
    stage = plan.stages[cursor.stage_index]
    return stage.stage, stage.question_ids[cursor.question_index]


def advance(
    plan: SessionPlan,
    cursor: Cursor,
    *,
    now: datetime,
    missed_points: Sequence[str] = (),
    follow_up_points: Sequence[str] = (),
    skipped: bool = False,
) -> tuple[Cursor, Step]:
    """Take the answer to the current question and decide the next step.

    `missed_points` are key point ids the answer did not cover, most important first;
    `follow_up_points` are the key points the question has a follow-up for.
    """
    if cursor.status != "active":
        raise ValueError("the session is over")
    cursor = cursor.model_copy(deep=True)
    if not skipped and len(cursor.follow_ups_asked) < plan.max_follow_ups:
        for point in missed_points:
            if point in follow_up_points and point not in cursor.follow_ups_asked:
                cursor.follow_ups_asked.append(point)
                stage, question_id = current_question(plan, cursor)
                return cursor, Step(kind="follow_up", stage=stage, question_id=question_id, point=point)
    return _next_question(plan, cursor, now)


def _next_question(plan: SessionPlan, cursor: Cursor, now: datetime) -> tuple[Cursor, Step]:
    cursor.follow_ups_asked = []
    stage = plan.stages[cursor.stage_index]
    out_of_time = cursor.stage_started_at is not None and now - cursor.stage_started_at >= timedelta(
        minutes=stage.minutes
    )
    if cursor.question_index + 1 < len(stage.question_ids) and not out_of_time:
        cursor.question_index += 1
        return cursor, _ask(plan, cursor, new_stage=False)
    return _next_stage(plan, cursor, now, timed_out=out_of_time)


def _next_stage(plan: SessionPlan, cursor: Cursor, now: datetime, *, timed_out: bool = False) -> tuple[Cursor, Step]:
    cursor.follow_ups_asked = []
    if cursor.stage_index + 1 >= len(plan.stages):
        cursor.status = "finished"
        return cursor, Step(kind="close", timed_out=timed_out)
    cursor.stage_index += 1
    cursor.question_index = 0
    cursor.stage_started_at = now
    return cursor, _ask(plan, cursor, new_stage=True, timed_out=timed_out)


def end_early(cursor: Cursor) -> tuple[Cursor, Step]:
    cursor = cursor.model_copy(deep=True)
    cursor.status = "ended"
    return cursor, Step(kind="close")


def _ask(plan: SessionPlan, cursor: Cursor, *, new_stage: bool, timed_out: bool = False) -> Step:
    stage, question_id = current_question(plan, cursor)
    return Step(kind="question", stage=stage, question_id=question_id, new_stage=new_stage, timed_out=timed_out)


def stage_deadline(plan: SessionPlan, cursor: Cursor) -> datetime | None:
    if cursor.status != "active" or cursor.stage_started_at is None:
        return None
    return cursor.stage_started_at + timedelta(minutes=plan.stages[cursor.stage_index].minutes)
