"""Grades and the Scorer interface. Scorers are domain code: no HTTP, no SQL."""

from __future__ import annotations

import logging
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from coach.coderun import RunResult
from coach.knowledge import Question, Rubric

log = logging.getLogger(__name__)
ScorerName = Literal["offline", "llm", "offline-fallback"]


class CriterionScore(BaseModel):
    id: str
    name: str
    score: int | None = Field(default=None, ge=1, le=5)  # None: insufficient evidence
    evidence: list[str] = Field(default_factory=list)  # verbatim sentences of the answer
    feedback: str = ""


class MistakeFound(BaseModel):
    id: str
    name: str
    evidence: list[str] = Field(default_factory=list)


class Grade(BaseModel):
    overall: float = Field(ge=1.0, le=5.0)
    criteria: list[CriterionScore]
    mistakes: list[MistakeFound] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    tip: str = ""
    missed_points: list[str] = Field(default_factory=list)  # key point ids the answer did not cover
    scorer: ScorerName
    model: str | None = None
    rubric_version: str
    prompt_version: str | None = None
    latency_ms: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    retries: int = 0
    fallback_reason: str | None = None


class GradingItem(BaseModel):
    """One answer to grade: the question (None when not in the knowledge base) and its rubric."""

    stage: str
    question_text: str
    question: Question | None
    rubric: Rubric
    answer: str
    seniority: str  # the candidate's level, a seniority id of the knowledge base
    run: RunResult | None = None  # the tests the candidate's browser ran on the code (their claim)


# An answer with one of these flags scores at most this, overall and on every criterion,
# whatever else it mentions: a trick must never raise its own score.
FLAG_CAPS = {
    "prompt_injection": 1.0, "empty": 1.0, "off_topic": 1.5, "buzzwords": 2.0,
    # Gaming the offline scorer: the trick earns nothing, and the answer is held where a trick belongs.
    "keyword_stuffing": 1.5, "repetition": 1.5, "copied_text": 1.5, "negated_terms": 1.5, "padding": 2.0,
    "hidden_text": 2.0,
    # Not graded: the offline scorer reads English only.
    "non_english": 1.0,
}
MISTAKE_PENALTY, MAX_MISTAKE_PENALTY = 0.25, 1.0


def capped(criteria: list[CriterionScore], flags: list[str]) -> list[CriterionScore]:
    """Criterion scores held to the lowest cap among the flags, with the reason in the feedback."""
    caps = [(FLAG_CAPS[f], f) for f in flags if f in FLAG_CAPS]
    if not caps:
        return criteria
    cap, flag = min(caps)
    ceiling = max(1, int(cap))
    return [
        c if c.score is None or c.score <= ceiling else c.model_copy(
            update={"score": ceiling, "feedback": f"Capped at {ceiling} because the answer is flagged {flag}. {c.feedback}"}
        )
        for c in criteria
    ]


def overall_score(criteria: list[CriterionScore], mistakes: list[MistakeFound], flags: list[str]) -> float:
    """Mean criterion score (a criterion without evidence counts as 1), less a little per mistake, capped by flags."""
    scores = [c.score or 1 for c in criteria]
    value = sum(scores) / len(scores) if scores else 1.0
    value -= min(MAX_MISTAKE_PENALTY, MISTAKE_PENALTY * len(mistakes))
    for flag in flags:
        value = min(value, FLAG_CAPS.get(flag, 5.0))
    return round(max(1.0, min(5.0, value)), 1)


class Scorer(Protocol):
    name: str

    def grade(self, item: GradingItem) -> Grade: ...


class ScorerFailed(Exception):
    """A scorer could not grade (its LLM unreachable, its output invalid); `costs`: what trying cost."""

    def __init__(self, reason: str, costs: dict | None = None):
        super().__init__(reason)
        self.costs = costs or {}


def fallback_grade(scorer: Scorer, item: GradingItem, reason: str, costs: dict | None = None) -> Grade:
    """`scorer`'s grade, labelled as a fallback with the reason (and what the failed attempt cost)."""
    return scorer.grade(item).model_copy(
        update={"scorer": "offline-fallback", "fallback_reason": reason[:500], **(costs or {})}
    )


class FallbackScorer:
    """Grades with `primary`; when it fails, with `fallback`, and the grade says so."""

    def __init__(self, primary: Scorer, fallback: Scorer):
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name

    def grade(self, item: GradingItem) -> Grade:
        try:
            return self.primary.grade(item)
        except ScorerFailed as exc:
            log.warning("grading offline instead: %s", exc)
            return fallback_grade(self.fallback, item, str(exc), exc.costs)
