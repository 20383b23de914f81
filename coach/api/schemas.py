"""The shapes the JSON API accepts and returns (never the table models themselves)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from coach import store
from coach.report import Report


class StageOut(BaseModel):
    id: str
    title: str
    minutes: int
    focus: list[str] = []
    success_rate: float | None = None


class TrackOut(BaseModel):
    id: str
    title: str
    seniorities: list[str]
    default_stages: list[str]
    stages: list[StageOut]


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    track: str = "backend-developer"
    seniority: str = "middle"
    stages: list[str] | None = Field(default=None, description="Stage ids; default: the track's default stages")
    mode: Literal["coach", "interview"] = "coach"
    seed: int | None = Field(
        default=None, ge=0, lt=2**31, description="Fix the question choice (for repeatable sessions)"
    )


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The candidate's answer")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the answer is empty; write an answer or use the skip endpoint")
        return text


class QuestionOut(BaseModel):
    id: str
    text: str


class CriterionOut(BaseModel):
    id: str
    name: str
    score: int | None
    evidence: list[str]
    feedback: str


class MistakeOut(BaseModel):
    id: str
    name: str
    evidence: list[str]


class GradeOut(BaseModel):
    id: int
    status: Literal["pending", "running", "done", "failed"]
    overall: float | None
    criteria: list[CriterionOut]
    mistakes: list[MistakeOut]
    flags: list[str]
    tip: str
    scorer: str | None
    model: str | None
    rubric_version: str | None
    prompt_version: str | None
    latency_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    retries: int
    fallback_reason: str | None

    @classmethod
    def of(cls, record: store.GradeRecord) -> "GradeOut":
        # "running" is an internal claim; to a reader it is still pending.
        data = record.model_dump()
        data["status"] = "pending" if record.status == "running" else record.status
        return cls.model_validate(data)


class TurnBase(BaseModel):
    """A message of the transcript; `offline` marks an interviewer turn written without the LLM."""

    id: int
    seq: int
    role: str
    kind: str
    stage: str | None
    question_id: str | None
    text: str
    offline: bool
    created_at: datetime


class TurnOut(TurnBase):
    grade: GradeOut | None = None


class ReplyOut(BaseModel):
    id: int
    text: str
    kind: str


class SessionCreated(BaseModel):
    id: str
    token: str
    mode: str
    stage: str | None
    question: QuestionOut | None
    messages: list[TurnOut]
    stage_deadline: str | None


class AnswerOut(BaseModel):
    turn_id: int
    grade: GradeOut | None
    reply: ReplyOut
    stage: str | None
    question: QuestionOut | None
    done: bool
    stage_deadline: str | None


class SessionOut(BaseModel):
    id: str
    track: str
    seniority: str
    mode: str
    status: str
    stage: str | None
    question: QuestionOut | None
    stages: list[str]
    stage_index: int
    stage_deadline: str | None
    created_at: datetime
    finished_at: datetime | None
    messages: list[TurnOut]


class ReportOut(Report):
    id: str
    mode: str
    status: str
