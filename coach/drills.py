"""Drills: retry one question or one stage of a past session, and compare the attempts.

Pure: the service hands in the past session's plan and what it asked; the presenters hand in
each attempt's answers (as the report reads them) and what the candidate said to each question.
A drill's plan is the past session's plan cut down to the drilled question or stage, so the same
questions come back and the attempts compare like for like.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from coach.engine import DrillTarget, SessionPlan, StagePlan
from coach.formats import covered_points
from coach.knowledge import KnowledgeBase
from coach.report import session_overall


class DrillError(ValueError):
    """The drill asks for a question the session never asked, or a stage it did not have."""


def drill_plan(plan: SessionPlan, asked: Iterable[str], target: DrillTarget) -> SessionPlan:
    """The plan of a drill of `target`, from the past session's `plan` and the question ids it `asked`."""
    if target.stage is not None:
        stage = next((s for s in plan.stages if s.stage == target.stage), None)
        if stage is None:
            had = ", ".join(s.stage for s in plan.stages)
            raise DrillError(f"this session had no stage {target.stage!r}; it had: {had}")
        return plan.model_copy(update={"stages": [stage], "drill": target})
    asked_ids = set(asked)
    stage = next((s for s in plan.stages if target.question_id in s.question_ids), None)
    if stage is None or target.question_id not in asked_ids:
        raise DrillError(f"this session never asked question {target.question_id!r}")
    return plan.model_copy(update={"stages": [_one_question(stage, target.question_id)], "drill": target})


def _one_question(stage: StagePlan, question_id: str) -> StagePlan:
    """The stage cut down to one main question, with that question's share of the stage's minutes;
    the stage's closing questions belong to the stage, not to one of its questions."""
    minutes = stage.minutes if stage.phases else max(2, round(stage.minutes / len(stage.question_ids)))
    return stage.model_copy(
        update={"question_ids": [question_id], "minutes": minutes, "invite": None, "candidate_question_limit": 0}
    )


# --- comparing attempts ---------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptRecord:
    """One attempt as stored: `answers` as `coach.report.build_report` takes them, `said` maps a
    question id to everything the candidate said to it."""

    session_id: str
    started_at: datetime
    status: str
    answers: list[dict]
    said: dict[str, str]


class KeyPointRef(BaseModel):
    id: str  # "<question id>:<key point id>": unique across the questions of a stage
    text: str


class Attempt(BaseModel):
    session_id: str
    started_at: datetime
    status: str
    drill: bool  # False for the original session
    score: float | None  # as the report counts it (one scoring rule); None: not answered
    covered: list[str]  # key point refs the attempt's answers named
    change: float | None = None  # score change from the attempt before
    gained: list[str] = []  # key points covered now and not in the attempt before
    lost: list[str] = []  # covered before, not now


class Comparison(BaseModel):
    target: DrillTarget
    title: str
    key_points: list[KeyPointRef]
    attempts: list[Attempt]


def compare(kb: KnowledgeBase, plan: SessionPlan, target: DrillTarget, attempts: list[AttemptRecord]) -> Comparison:
    """The attempts at `target` in order (the original first), each with what changed from the one before.

    `plan` is the original session's plan: it says which questions the stage had."""
    question_ids = _target_questions(plan, target)
    points = [
        KeyPointRef(id=f"{qid}:{p.id}", text=p.text)
        for qid in question_ids if qid in kb.questions for p in kb.questions[qid].key_points
    ]
    rows: list[Attempt] = []
    for index, record in enumerate(attempts):
        attempt = Attempt(
            session_id=record.session_id, started_at=record.started_at, status=record.status, drill=index > 0,
            score=_score(record.answers, target), covered=_covered(kb, question_ids, record.said),
        )
        rows.append(_against(attempt, rows[-1]) if rows else attempt)
    return Comparison(target=target, title=_title(kb, target), key_points=points, attempts=rows)


def _target_questions(plan: SessionPlan, target: DrillTarget) -> list[str]:
    if target.question_id is not None:
        return [target.question_id]
    return next((list(s.question_ids) for s in plan.stages if s.stage == target.stage), [])


def _score(answers: list[dict], target: DrillTarget) -> float | None:
    """The question's or the stage's score by the one rule (the overall of just those answers)."""
    if target.question_id is not None:
        return session_overall([a for a in answers if a["question_id"] == target.question_id])
    return session_overall([a for a in answers if a["stage"] == target.stage])


def _covered(kb: KnowledgeBase, question_ids: list[str], said: dict[str, str]) -> list[str]:
    """The key points named in what was said to each question: the term rule the interviewer listens with."""
    covered = []
    for qid in question_ids:
        if qid in kb.questions and said.get(qid):
            covered += [f"{qid}:{p.id}" for p in covered_points(list(kb.questions[qid].key_points), said[qid])[0]]
    return covered


def _against(attempt: Attempt, before: Attempt) -> Attempt:
    change = None if attempt.score is None or before.score is None else round(attempt.score - before.score, 1)
    return attempt.model_copy(update={
        "change": change,
        "gained": [p for p in attempt.covered if p not in before.covered],
        "lost": [p for p in before.covered if p not in attempt.covered],
    })


def _title(kb: KnowledgeBase, target: DrillTarget) -> str:
    if target.question_id is not None:
        question = kb.questions.get(target.question_id)
        return question.prompt if question else target.question_id
    try:
        return kb.stage(target.stage).title
    except KeyError:
        return target.stage or ""
