"""Grades and the Scorer interface. Scorers are domain code: no HTTP, no SQL."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, Field

from coach.knowledge import Question, Rubric

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
    seniority: str = "middle"


class Scorer(Protocol):
    name: str

    def grade(self, item: GradingItem) -> Grade: ...
