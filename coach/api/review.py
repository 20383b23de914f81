"""The reviewer's JSON API under /api/review, and the exports both it and the pages serve.

Every route needs a reviewer's bearer token (`coach reviewers token EMAIL`); a candidate's session
token opens nothing here.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from coach import review_store, reviewers, store
from coach.api.deps import DbDep, bearer_token
from coach.api.schemas import TurnBase
from coach.evaluation import Agreement, agreement
from coach.review_store import Override, Reviewer, ReviewComment, SessionFilters, SessionPage, SessionSummary

router = APIRouter(prefix="/api/review", tags=["review"])


def api_reviewer(db: DbDep, token: Annotated[str | None, Depends(bearer_token)]) -> Reviewer:
    reviewer = reviewers.reviewer_for_token(db=db, token=token)
    if reviewer is None:
        raise HTTPException(status_code=401, detail="a reviewer token is required", headers={"WWW-Authenticate": "Bearer"})
    return reviewer


ApiReviewerDep = Annotated[Reviewer, Depends(api_reviewer)]
SessionIdPath = Annotated[str, Path(max_length=64)]


# --- shapes ---------------------------------------------------------------------------------


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


class ReviewGradeOut(BaseModel):
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
    scorer: str | None
    model: str | None
    rubric_version: str | None
    prompt_version: str | None
    latency_ms: float | None
    retries: int
    fallback_reason: str | None
    overrides: list[OverrideOut]


class ReviewTurnOut(TurnBase):
    grade: ReviewGradeOut | None
    comments: list[CommentOut]


class ReviewSessionOut(SessionSummary):
    turns: list[ReviewTurnOut]


class InsightsOut(BaseModel):
    graded: int
    by_stage: dict[str, dict[int, int]]
    by_criterion: dict[str, dict[int, int]]
    mistakes: list[dict]
    overrides: dict
    agreement: Agreement


# --- assembling -----------------------------------------------------------------------------


def grade_out(grade: store.GradeRecord, overrides: list[Override]) -> ReviewGradeOut:
    scores = review_store.effective_scores(grade, overrides)
    changed = {o.criterion for o in overrides}
    criteria = [
        ReviewCriterionOut(
            id=c["id"], name=c.get("name") or c["id"], machine_score=c.get("score"), score=scores.get(c["id"]),
            overridden=c["id"] in changed, evidence=c.get("evidence") or [], feedback=c.get("feedback") or "",
        )
        for c in grade.criteria
    ]
    return ReviewGradeOut(
        **grade.model_dump(include={
            "id", "status", "stage", "question_id", "question_text", "flags", "missed_points", "tip", "scorer",
            "model", "rubric_version", "prompt_version", "latency_ms", "retries", "fallback_reason",
        }),
        machine_overall=grade.overall, overall=scores[None], overall_overridden=None in changed, criteria=criteria,
        mistakes=grade.mistakes or [], overrides=[OverrideOut.model_validate(o.model_dump()) for o in overrides],
    )


def session_transcript(db: Session, session: store.InterviewSession) -> ReviewSessionOut:
    """The whole conversation in order, each answer with its grade, overrides and comments."""
    grades = {g.turn_id: g for g in store.list_grades(db=db, session_id=session.id)}
    overrides = review_store.overrides_by_grade(review_store.list_overrides(db=db, session_id=session.id))
    comments: dict[int, list[ReviewComment]] = {}
    for comment in review_store.list_comments(db=db, session_id=session.id):
        comments.setdefault(comment.turn_id, []).append(comment)
    turns = []
    for turn in store.list_turns(db=db, session_id=session.id):
        grade = grades.get(turn.id)
        turns.append(ReviewTurnOut(
            **turn.model_dump(include=set(TurnBase.model_fields)),
            grade=grade_out(grade, overrides.get(grade.id, [])) if grade else None,
            comments=[CommentOut.model_validate(c.model_dump()) for c in comments.get(turn.id, [])],
        ))
    overalls = [t.grade.overall for t in turns if t.grade and t.grade.status == "done" and t.grade.overall is not None]
    return ReviewSessionOut(
        **session.model_dump(include={
            "id", "track", "seniority", "mode", "status", "reviewed", "created_at", "finished_at",
        }),
        score=round(sum(overalls) / len(overalls), 2) if overalls else None, turns=turns,
    )


def reviewed_session(db: Session, session_id: str) -> store.InterviewSession:
    session = store.get_session(db=db, session_id=session_id)
    if session is None:
        raise HTTPException(status_code=404, detail="session not found")
    return session


def save_override(db: Session, grade_id: int, body: OverrideIn, reviewer: Reviewer) -> Override:
    grade = store.get_grade(db=db, grade_id=grade_id)
    if grade is None:
        raise HTTPException(status_code=404, detail="grade not found")
    try:
        override = review_store.add_override(
            db=db, grade=grade, criterion=body.criterion, score=body.score, comment=body.comment,
            reviewer=reviewer.email,
        )
    except review_store.OverrideRefused as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    db.commit()
    return override


def save_comment(db: Session, turn_id: int, text: str, reviewer: Reviewer) -> ReviewComment:
    turn = db.get(store.Turn, turn_id)
    if turn is None:
        raise HTTPException(status_code=404, detail="answer not found")
    if not text.strip():
        raise HTTPException(status_code=422, detail="a comment cannot be empty")
    grade = review_store.grade_for_turn(db=db, turn_id=turn.id)
    comment = review_store.add_comment(
        db=db, turn=turn, grade_id=grade.id if grade else None, reviewer=reviewer.email, text=text
    )
    db.commit()
    return comment


def calibration(db: Session) -> Agreement:
    return agreement(review_store.review_labels(db=db))


def insights_out(db: Session) -> InsightsOut:
    return InsightsOut(**review_store.insights(db=db), agreement=calibration(db))


# --- exports --------------------------------------------------------------------------------


def export_json(transcript: ReviewSessionOut) -> Response:
    body = json.dumps(transcript.model_dump(mode="json"), indent=2, ensure_ascii=False)
    return _download(body, "application/json", f"coach-session-{transcript.id}.json")


def export_markdown(transcript: ReviewSessionOut) -> Response:
    return _download(render_markdown(transcript), "text/markdown; charset=utf-8", f"coach-session-{transcript.id}.md")


def _download(body: str, media_type: str, filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content=body, media_type=media_type, headers=headers)


def render_markdown(t: ReviewSessionOut) -> str:
    lines = [
        f"# Interview {t.id}", "",
        f"- Track: {t.track}, seniority: {t.seniority}, mode: {t.mode}, status: {t.status}",
        f"- Started: {t.created_at.isoformat(timespec='minutes')}; reviewed: {'yes' if t.reviewed else 'no'}",
        f"- Mean overall score: {_score(t.score)}", "",
    ]
    for turn in t.turns:
        who = "Interviewer" if turn.role == "interviewer" else "Candidate"
        lines += [f"## {turn.seq + 1}. {who} · {turn.stage or ''} · {turn.kind}", "", _quote(turn.text), ""]
        if turn.grade:
            lines += _markdown_grade(turn.grade)
        for comment in turn.comments:
            lines += [f"- Comment by {comment.reviewer} ({comment.created_at.isoformat(timespec='minutes')}): "
                      f"{_one_line(comment.text)}"]
        if turn.comments:
            lines.append("")
    return "\n".join(lines)


def _markdown_grade(grade: ReviewGradeOut) -> list[str]:
    lines = [
        f"**Grade** ({grade.status}): overall {_score(grade.overall)}"
        + (f" (machine: {_score(grade.machine_overall)})" if grade.overall_overridden else ""),
        f"scorer {grade.scorer or '-'}, model {grade.model or '-'}, rubric {grade.rubric_version or '-'}, "
        f"prompt {grade.prompt_version or '-'}", "",
    ]
    if grade.criteria:
        lines += ["| Criterion | Machine | Score | Feedback |", "|---|---|---|---|"]
        lines += [
            f"| {_cell(c.name)} | {_score(c.machine_score)} | {_score(c.score)}{' (overridden)' if c.overridden else ''}"
            f" | {_cell(c.feedback)} |"
            for c in grade.criteria
        ]
        lines.append("")
    for c in grade.criteria:
        lines += [f"- Evidence for {c.name}: " + "; ".join(f"“{_one_line(q)}”" for q in c.evidence)] if c.evidence else []
    if grade.mistakes:
        lines.append("- Mistakes: " + ", ".join(m.get("name") or m.get("id", "") for m in grade.mistakes))
    if grade.flags:
        lines.append("- Flags: " + ", ".join(grade.flags))
    for o in grade.overrides:
        lines.append(
            f"- Override by {o.reviewer} ({o.created_at.isoformat(timespec='minutes')}): {o.criterion or 'overall'} "
            f"{_score(o.machine_score)} → {_score(o.score)}: {_one_line(o.comment)}"
        )
    lines.append("")
    return lines


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in text.splitlines()) or ">"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


CSV_COLUMNS = [
    "session_id", "track", "seniority", "session_created_at", "reviewed", "turn_id", "grade_id", "stage",
    "question_id", "grade_status", "scorer", "model", "rubric_version", "prompt_version", "machine_overall",
    "overall", "criterion_id", "criterion_name", "machine_score", "score", "overridden", "evidence", "mistakes",
    "flags", "answer",
]


def export_csv(db: Session) -> Response:
    """Every grade, one row per answer and criterion (one row with no criterion for a grade without any)."""
    sessions = review_store.sessions_by_id(db=db)
    grouped = review_store.overrides_by_grade(review_store.list_overrides(db=db))
    answers = review_store.answer_texts(db=db)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for grade in review_store.all_grades(db=db):
        graded = grade_out(grade, grouped.get(grade.id, []))
        for row in _csv_rows(sessions[grade.session_id], grade, graded, answers.get(grade.turn_id, "")):
            writer.writerow([_csv_safe(row[c]) for c in CSV_COLUMNS])
    return _download(out.getvalue(), "text/csv; charset=utf-8", "coach-grades.csv")


def _csv_rows(session, grade: store.GradeRecord, graded: ReviewGradeOut, answer: str) -> list[dict]:
    base = {
        "session_id": session.id, "track": session.track, "seniority": session.seniority,
        "session_created_at": session.created_at.isoformat(), "reviewed": session.reviewed, "turn_id": grade.turn_id,
        "grade_id": grade.id, "stage": grade.stage, "question_id": grade.question_id, "grade_status": grade.status,
        "scorer": grade.scorer, "model": grade.model, "rubric_version": grade.rubric_version,
        "prompt_version": grade.prompt_version, "machine_overall": graded.machine_overall, "overall": graded.overall,
        "mistakes": " | ".join(m.get("id", "") for m in graded.mistakes), "flags": " | ".join(graded.flags),
        "answer": answer,
    }
    empty = {"criterion_id": None, "criterion_name": None, "machine_score": None, "score": None,
             "overridden": graded.overall_overridden, "evidence": None}
    return [
        {**base, "criterion_id": c.id, "criterion_name": c.name, "machine_score": c.machine_score, "score": c.score,
         "overridden": c.overridden, "evidence": " | ".join(c.evidence)}
        for c in graded.criteria
    ] or [{**base, **empty}]


def _csv_safe(value):
    """Text a spreadsheet would run as a formula is prefixed with a quote (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# --- routes ---------------------------------------------------------------------------------


@router.get("/sessions", response_model=SessionPage)
def list_sessions(_reviewer: ApiReviewerDep, db: DbDep, filters: Annotated[SessionFilters, Query()]):
    return review_store.list_sessions(db=db, filters=filters)


@router.get("/sessions/{session_id}", response_model=ReviewSessionOut)
def read_session(_reviewer: ApiReviewerDep, db: DbDep, session_id: SessionIdPath):
    return session_transcript(db, reviewed_session(db, session_id))


@router.post("/sessions/{session_id}/reviewed", response_model=ReviewSessionOut)
def mark_reviewed(_reviewer: ApiReviewerDep, db: DbDep, session_id: SessionIdPath, body: ReviewedIn):
    session = reviewed_session(db, session_id)
    review_store.set_reviewed(db=db, session=session, reviewed=body.reviewed)
    db.commit()
    return session_transcript(db, session)


@router.post("/grades/{grade_id}/override", status_code=201, response_model=OverrideOut)
def override_grade(reviewer: ApiReviewerDep, db: DbDep, grade_id: int, body: OverrideIn):
    return OverrideOut.model_validate(save_override(db, grade_id, body, reviewer).model_dump())


@router.post("/turns/{turn_id}/comments", status_code=201, response_model=CommentOut)
def comment_on_answer(reviewer: ApiReviewerDep, db: DbDep, turn_id: int, body: CommentIn):
    return CommentOut.model_validate(save_comment(db, turn_id, body.text, reviewer).model_dump())


@router.get("/sessions/{session_id}/export.json")
def session_json(_reviewer: ApiReviewerDep, db: DbDep, session_id: SessionIdPath):
    return export_json(session_transcript(db, reviewed_session(db, session_id)))


@router.get("/sessions/{session_id}/export.md", response_class=PlainTextResponse)
def session_markdown(_reviewer: ApiReviewerDep, db: DbDep, session_id: SessionIdPath):
    return export_markdown(session_transcript(db, reviewed_session(db, session_id)))


@router.get("/export/grades.csv", response_class=PlainTextResponse)
def grades_csv(_reviewer: ApiReviewerDep, db: DbDep):
    return export_csv(db)


@router.get("/insights", response_model=InsightsOut)
def read_insights(_reviewer: ApiReviewerDep, db: DbDep):
    return insights_out(db)
