"""The session engine: a plan of stages and questions, and a pure state machine that walks it.

Nothing here does I/O. The state is a small JSON-serialisable model so any worker can load a
session, apply one step and store it again. How a stage runs (a round of questions, or one
scenario walked through its phases) and how long it lasts come from the stage formats in
knowledge/ (coach.formats); the engine walks whatever the plan says.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from coach.formats import Length
from coach.knowledge import KnowledgeBase

INVITE = "candidate_questions"  # the phase name turns carry in the candidate's-questions part of a stage


class PlanError(ValueError):
    """The requested plan cannot be built (unknown track, stage, seniority or length)."""


class StagePlan(BaseModel):
    stage: str
    minutes: int
    question_ids: list[str]
    # A phased stage walks its one scenario or task through these phases; empty: a question round.
    phases: list[str] = Field(default_factory=list)
    # Follow-ups chained on one main question or phase; None (plans stored before formats): the plan's.
    follow_up_depth: int | None = None
    # The invite question that ends the stage with the candidate's own questions, and how many are answered.
    invite: str | None = None
    candidate_question_limit: int = 0


class DrillTarget(BaseModel):
    """What a drill retries: exactly one of a question (by id) or a stage (by id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question_id: str | None = Field(default=None, max_length=100)
    stage: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _exactly_one(self) -> DrillTarget:
        if (self.question_id is None) == (self.stage is None):
            raise ValueError("give exactly one of question_id and stage")
        return self


class SessionPlan(BaseModel):
    track: str
    seniority: str
    stages: list[StagePlan]
    max_follow_ups: int = 1
    length: str = "standard"
    drill: DrillTarget | None = None  # a drill's plan: the one question or stage it retries

    @property
    def minutes(self) -> int:
        return sum(stage.minutes for stage in self.stages)


class Cursor(BaseModel):
    """Where a session stands."""

    stage_index: int = 0
    question_index: int = 0
    follow_ups_asked: list[str] = Field(default_factory=list)  # key point ids probed for this question or phase
    stage_started_at: datetime | None = None
    status: Literal["active", "finished", "ended"] = "active"
    phase_index: int = 0
    nudged: bool = False  # the current question or phase has had its one nudge
    asking: bool = False  # in the stage's closing part: the candidate asks the questions
    questions_taken: int = 0  # the candidate's questions answered in that part


class Step(BaseModel):
    """What the interviewer does next."""

    kind: Literal["question", "follow_up", "phase", "nudge", "answer_question", "invite_questions", "close"]
    stage: str | None = None
    question_id: str | None = None
    point: str | None = None  # for a follow-up or a nudge: the key point it leads to
    phase: str | None = None  # in a phased stage: the phase being worked on
    new_stage: bool = False
    # stages passed over because their time ran out, for the interviewer to mention
    timed_out: bool = False
    answering: bool = False  # first answer the candidate's question, then do this step
    moving_on: bool = False  # a nudge did not help: say so briefly, then do this step


def build_plan(
    kb: KnowledgeBase,
    *,
    track: str | None = None,
    seniority: str | None = None,
    stages: list[str] | None = None,
    seed: int = 0,
    max_follow_ups: int | None = None,
    length: str | None = None,
    preferred_terms: frozenset[str] = frozenset(),
) -> SessionPlan:
    """Choose the questions for each stage, deterministically for a given seed.

    No track, seniority, stages or length: the knowledge base's default track, its default seniority and
    stages, the default length.
    `max_follow_ups` overrides the chosen length's follow-up depth; `preferred_terms` (from a
    job description) puts questions that mention them first."""
    track = kb.default_track.id if track is None else track
    if track not in kb.tracks:
        raise PlanError(f"unknown track {track!r}; known: {', '.join(kb.tracks)}")
    track_model = kb.track(track)
    levels = [s.id for s in track_model.seniorities]
    seniority = track_model.default_seniority if seniority is None else seniority
    if seniority not in levels:
        raise PlanError(f"unknown seniority {seniority!r}; known: {', '.join(levels)}")
    length = kb.formats.default_length.id if length is None else length
    if length not in kb.formats.length_ids():
        raise PlanError(f"unknown length {length!r}; known: {', '.join(kb.formats.length_ids())}")
    stage_ids = list(stages) if stages else list(track_model.default_stages)
    known = [s.id for s in track_model.stages]
    unknown = [s for s in stage_ids if s not in known]
    if unknown:
        raise PlanError(f"unknown stage {unknown[0]!r}; known: {', '.join(known)}")
    if len(set(stage_ids)) != len(stage_ids):
        raise PlanError("a stage may appear only once")
    rng = random.Random(f"{seed}:{track}:{seniority}")
    ordered = [track_model.stage(s) for s in known if s in stage_ids]  # the real process order
    length_model = kb.formats.length(length)
    minutes = stage_minutes(ordered, length_model)
    picker = _Picker(kb, seniority, rng, preferred_terms)
    return SessionPlan(
        track=track, seniority=seniority, length=length,
        max_follow_ups=length_model.follow_up_depth if max_follow_ups is None else max_follow_ups,
        stages=[_stage_plan(kb, s, minutes[s.id], length_model, picker, max_follow_ups) for s in ordered],
    )


def stage_minutes(stages: list, length: Length) -> dict[str, int]:
    """Each stage's planned minutes at this length: a share of its real time, or of a fixed total."""
    if length.time_share is not None:
        return {s.id: max(2, round(s.minutes * length.time_share)) for s in stages}
    real = sum(s.minutes for s in stages)
    return {s.id: max(2, round(length.total_minutes * s.minutes / real)) for s in stages}


def _stage_plan(kb: KnowledgeBase, stage, minutes: int, length: Length, picker: _Picker, depth) -> StagePlan:
    fmt = kb.formats.for_stage(stage.id)
    invite = kb.formats.candidate_questions.stages.get(stage.id)
    plan = StagePlan(
        stage=stage.id, minutes=minutes, question_ids=[],
        follow_up_depth=fmt.depth(length) if depth is None else depth,
        invite=invite, candidate_question_limit=kb.formats.candidate_questions.limit[length.id] if invite else 0,
    )
    if fmt.kind == "phased":
        phases = [p.id for p in fmt.phases if length.id in p.lengths]
        return plan.model_copy(update={"question_ids": picker.pick(stage.id, 1), "phases": phases})
    floor = stage.questions_per_level.get(picker.seniority, 1) if length.usual_questions else 1
    wanted = max(floor, minutes // kb.formats.minutes_per_question)
    return plan.model_copy(update={"question_ids": picker.pick(stage.id, wanted)})


class _Picker:
    """Chooses a stage's main questions: those a job description names first, then at random."""

    def __init__(self, kb: KnowledgeBase, seniority: str, rng: random.Random, preferred: frozenset[str]):
        self.kb, self.seniority, self.rng, self.preferred = kb, seniority, rng, preferred

    def pick(self, stage_id: str, wanted: int) -> list[str]:
        pool = sorted(q.id for q in self.kb.questions_for(stage_id, self.seniority))
        shuffled = self.rng.sample(pool, len(pool))
        if self.preferred:  # a stable sort keeps the random order among equally relevant questions
            shuffled.sort(key=lambda qid: -self.relevance(qid))
        return shuffled[: min(wanted, len(pool))]

    def relevance(self, question_id: str) -> int:
        question = self.kb.questions[question_id]
        terms = {t.lower() for p in question.key_points for t in p.terms}
        return len(terms & self.preferred)


def start(plan: SessionPlan, now: datetime) -> tuple[Cursor, Step]:
    cursor = Cursor(stage_started_at=now)
    return cursor, _ask(plan, cursor, new_stage=True)


def current_question(plan: SessionPlan, cursor: Cursor) -> tuple[str, str] | None:
    """(stage, question id) being asked, or None once the session is over."""
    if cursor.status != "active":
        return None
    stage = plan.stages[cursor.stage_index]
    if cursor.asking and stage.invite:
        return stage.stage, stage.invite
    return stage.stage, stage.question_ids[cursor.question_index]


def current_phase(plan: SessionPlan, cursor: Cursor) -> str | None:
    """The phase being worked on in a phased stage; INVITE in a stage's closing questions; else None."""
    if cursor.status != "active":
        return None
    if cursor.asking:
        return INVITE
    phases = plan.stages[cursor.stage_index].phases
    return phases[cursor.phase_index] if phases and cursor.phase_index < len(phases) else None


def advance(
    plan: SessionPlan,
    cursor: Cursor,
    *,
    now: datetime,
    missed_points: Sequence[str] = (),
    follow_up_points: Sequence[str] = (),
    skipped: bool = False,
    non_answer: bool = False,
) -> tuple[Cursor, Step]:
    """Take the answer to the current question (or phase) and decide the next step.

    `missed_points` are key point ids the answer did not cover, most important first;
    `follow_up_points` are the key points there is a follow-up for. A `non_answer` ("not sure")
    gets one nudge; a second one moves on.
    """
    if cursor.status != "active":
        raise ValueError("the session is over")
    cursor = cursor.model_copy(deep=True)
    if cursor.asking:  # not a question in the candidate's-questions part: they have none left
        return _next_stage(plan, cursor, now)
    where = dict(stage=current_question(plan, cursor)[0], question_id=current_question(plan, cursor)[1],
                 phase=current_phase(plan, cursor))
    if non_answer and not skipped and not cursor.nudged:
        cursor.nudged = True
        hint = next((p for p in missed_points if p in follow_up_points), None)
        return cursor, Step(kind="nudge", point=hint, **where)
    if not skipped and not non_answer and len(cursor.follow_ups_asked) < _depth(plan, cursor):
        for point in missed_points:
            if point in follow_up_points and point not in cursor.follow_ups_asked:
                cursor.follow_ups_asked.append(point)
                return cursor, Step(kind="follow_up", point=point, **where)
    cursor, step = _next_item(plan, cursor, now)
    return cursor, step.model_copy(update={"moving_on": non_answer and not skipped})


def take_question(plan: SessionPlan, cursor: Cursor, *, now: datetime) -> tuple[Cursor, Step]:
    """The candidate asked the interviewer something: answer it, and stay where we are.

    In the stage's closing part the questions are counted; past the limit the stage moves on
    after the answer."""
    if cursor.status != "active":
        raise ValueError("the session is over")
    cursor = cursor.model_copy(deep=True)
    stage_id, question_id = current_question(plan, cursor)
    if cursor.asking:
        cursor.questions_taken += 1
        if cursor.questions_taken >= plan.stages[cursor.stage_index].candidate_question_limit:
            cursor, step = _next_stage(plan, cursor, now)
            return cursor, step.model_copy(update={"answering": True})
    step = Step(kind="answer_question", stage=stage_id, question_id=question_id, phase=current_phase(plan, cursor))
    return cursor, step


def _depth(plan: SessionPlan, cursor: Cursor) -> int:
    depth = plan.stages[cursor.stage_index].follow_up_depth
    return plan.max_follow_ups if depth is None else depth


def _out_of_time(plan: SessionPlan, cursor: Cursor, now: datetime) -> bool:
    minutes = plan.stages[cursor.stage_index].minutes
    return cursor.stage_started_at is not None and now - cursor.stage_started_at >= timedelta(minutes=minutes)


def _reset_item(cursor: Cursor) -> None:
    cursor.follow_ups_asked = []
    cursor.nudged = False


def _next_item(plan: SessionPlan, cursor: Cursor, now: datetime) -> tuple[Cursor, Step]:
    """The next phase of a phased stage, else the next main question."""
    _reset_item(cursor)
    phases = plan.stages[cursor.stage_index].phases
    if phases and cursor.phase_index + 1 < len(phases) and not _out_of_time(plan, cursor, now):
        cursor.phase_index += 1
        stage, question_id = current_question(plan, cursor)
        return cursor, Step(kind="phase", stage=stage, question_id=question_id, phase=phases[cursor.phase_index])
    return _next_question(plan, cursor, now)


def _next_question(plan: SessionPlan, cursor: Cursor, now: datetime) -> tuple[Cursor, Step]:
    _reset_item(cursor)
    stage = plan.stages[cursor.stage_index]
    out_of_time = _out_of_time(plan, cursor, now)
    if cursor.question_index + 1 < len(stage.question_ids) and not out_of_time:
        cursor.question_index += 1
        cursor.phase_index = 0
        return cursor, _ask(plan, cursor, new_stage=False)
    if stage.invite and stage.candidate_question_limit and not out_of_time:
        cursor.asking = True
        return cursor, Step(kind="invite_questions", stage=stage.stage, question_id=stage.invite, phase=INVITE)
    return _next_stage(plan, cursor, now, timed_out=out_of_time)


def _next_stage(plan: SessionPlan, cursor: Cursor, now: datetime, *, timed_out: bool = False) -> tuple[Cursor, Step]:
    _reset_item(cursor)
    cursor.asking, cursor.questions_taken, cursor.phase_index = False, 0, 0
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
    return Step(
        kind="question", stage=stage, question_id=question_id, phase=current_phase(plan, cursor),
        new_stage=new_stage, timed_out=timed_out,
    )


def stage_deadline(plan: SessionPlan, cursor: Cursor) -> datetime | None:
    if cursor.status != "active" or cursor.stage_started_at is None:
        return None
    return cursor.stage_started_at + timedelta(minutes=plan.stages[cursor.stage_index].minutes)
