"""The shapes the JSON API accepts and returns (never the table models themselves)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from coach import store
from coach.coderun import CodeAnswer, StoredCode
from coach.drills import Comparison
from coach.engine import DrillTarget
from coach.evaluation import Agreement
from coach.jobs import MAX_CHARS as JOB_TEXT_LIMIT
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
    default: bool  # the track a session without one runs on
    seniorities: list[str]  # lowest first
    default_seniority: str
    default_stages: list[str]
    stages: list[StageOut]


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    track: str | None = Field(default=None, description="A track id (GET /api/tracks); default: the default track")
    seniority: str | None = Field(default=None, description="One of the track's seniorities; default: the track's own")
    stages: list[str] | None = Field(default=None, description="Stage ids; default: the track's default stages")
    mode: Literal["coach", "interview"] = "coach"
    seed: int | None = Field(
        default=None, ge=0, lt=2**31, description="Fix the question choice (for repeatable sessions)"
    )
    length: str | None = Field(
        default=None, max_length=32,
        description="A length id (knowledge/interview/formats.yaml: quick, standard, full); default: the default length",
    )
    job_description: str = Field(
        default="", max_length=JOB_TEXT_LIMIT, description="A job advert to tailor the questions to"
    )
    cv_summary: str = Field(default="", max_length=JOB_TEXT_LIMIT, description="A short summary of your CV")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", description="The candidate's answer (with code: the notes that go with it)")
    code: CodeAnswer | None = Field(
        default=None,
        description="A coding answer's code, language and the latest run of the task's tests in the browser "
        "(the candidate's claim: stored as such, never re-run on the server)",
    )

    @model_validator(mode="after")
    def _not_blank(self) -> AnswerIn:
        if not self.text.strip() and (self.code is None or not self.code.source.strip()):
            raise ValueError("the answer is empty; write an answer or use the skip endpoint")
        return self


class DrillIn(DrillTarget):
    """Retry one question (`question_id`, one the session asked) or one stage (`stage`, one it had)."""


class DrillsOut(BaseModel):
    """A session's drills compared with the original, one comparison per question or stage drilled."""

    original: str  # the session the drills retry
    comparisons: list[Comparison]


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


class GradeProvenance(BaseModel):
    """Who graded an answer, with what, and how it went."""

    scorer: str | None
    model: str | None
    rubric_version: str | None
    prompt_version: str | None
    latency_ms: float | None
    retries: int
    fallback_reason: str | None


class GradeOut(GradeProvenance):
    id: int
    status: Literal["pending", "running", "done", "failed"]
    overall: float | None
    criteria: list[CriterionOut]
    mistakes: list[MistakeOut]
    flags: list[str]
    tip: str
    prompt_tokens: int | None
    completion_tokens: int | None

    @classmethod
    def of(cls, record: store.GradeRecord) -> GradeOut:
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
    phase: str | None = None  # a phased stage's phase; "candidate_questions" in a stage's closing questions
    text: str
    offline: bool
    created_at: datetime
    code: StoredCode | None = None


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
    drill_of: str | None = None  # a drill: the session it retries
    drill: DrillTarget | None = None  # a drill: the question or stage it retries


class AnswerOut(BaseModel):
    turn_id: int
    grade: GradeOut | None
    model_answer: str | None = None  # coach mode, with the grade: what a strong answer covers
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
    drill_of: str | None = None
    drill: DrillTarget | None = None


class ReportOut(Report):
    id: str
    mode: str
    status: str
    length: str = "standard"
    # The pasted job description's skills (knowledge-base terms it names) the interview exercised, and the rest.
    job_skills_exercised: list[str] = []
    job_skills_not_exercised: list[str] = []


# --- the reviewer's API ---------------------------------------------------------------------


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criterion: str | None = Field(default=None, description="A criterion id, or null for the overall score")
    score: float = Field(ge=1, le=5)
    comment: str = Field(min_length=1, max_length=5000, description="Why; required")


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000)


class ReviewedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewed: bool = True


MAX_PAGE = 1_000_000  # far past any real list; the offset it gives stays a 64-bit integer
SortKey = Literal["created_at", "score", "seniority", "status", "answers", "reviewed"]


class SessionFilters(BaseModel):
    """What the sessions table and `GET /api/review/sessions` filter and sort by."""

    model_config = ConfigDict(extra="ignore")

    seniority: str | None = None
    stage: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    score_min: float | None = Field(default=None, ge=0, le=5)
    score_max: float | None = Field(default=None, ge=0, le=5)
    scorer: str | None = None
    reviewed: bool | None = None
    sort: SortKey = "created_at"
    order: Literal["asc", "desc"] = "desc"
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=25, ge=1, le=100)


class SessionSummary(BaseModel):
    id: str
    track: str
    seniority: str
    mode: str
    status: str
    reviewed: bool
    created_at: datetime
    finished_at: datetime | None
    score: float | None  # the session's overall, as the candidate's report shows it (coach.report)
    drill_of: str | None = None  # a drill (one question or stage retried): the session it retries


class SessionRow(SessionSummary):
    answers: int
    overrides: int


class SessionPage(BaseModel):
    items: list[SessionRow]
    total: int
    page: int
    per_page: int
    pages: int


class OverrideOut(BaseModel):
    id: int
    grade_id: int
    criterion: str | None
    machine_score: float | None
    score: float
    comment: str
    reviewer: str
    created_at: datetime


class CommentOut(BaseModel):
    id: int
    turn_id: int
    grade_id: int | None
    reviewer: str
    text: str
    created_at: datetime


class ReviewCriterionOut(BaseModel):
    id: str
    name: str
    machine_score: float | None
    score: float | None  # the score that counts: the latest override, else the machine's
    overridden: bool
    evidence: list[str]
    feedback: str


class ReviewGradeOut(GradeProvenance):
    id: int
    status: str
    stage: str
    question_id: str | None
    question_text: str
    machine_overall: float | None
    overall: float | None
    overall_overridden: bool
    criteria: list[ReviewCriterionOut]
    mistakes: list[dict]
    flags: list[str]
    missed_points: list
    tip: str
    overrides: list[OverrideOut]


class ReviewTurnOut(TurnBase):
    grade: ReviewGradeOut | None
    comments: list[CommentOut]


class ReviewSessionOut(SessionSummary):
    job_description: str = ""  # what the candidate pasted to tailor the practice
    cv_summary: str = ""
    turns: list[ReviewTurnOut]


class InsightsOut(BaseModel):
    graded: int
    by_stage: dict[str, dict[int, int]]
    by_criterion: dict[str, dict[int, int]]
    mistakes: list[dict]
    overrides: dict
    agreement: Agreement
