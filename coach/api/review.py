"""The reviewer's JSON API under /api/review.

Every route needs a reviewer's bearer token (`coach reviewers token EMAIL`); a candidate's session
token opens nothing here. The exports live in coach.api.exports, shared with the pages.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from sqlmodel import Session

from coach import insights, review_store, store
from coach.api.deps import ApiReviewerDep, DbDep, ServiceDep, SessionIdPath
from coach.api.schemas import (
    CommentIn,
    CommentOut,
    InsightsOut,
    OverrideIn,
    OverrideOut,
    ReviewedIn,
    ReviewSessionOut,
    SessionFilters,
    SessionPage,
)
from coach.presenters.review import session_list, session_transcript
from coach.review_store import Override, ReviewComment, Reviewer
from coach.service import InterviewService, SessionNotFound

router = APIRouter(prefix="/api/review", tags=["review"])


# --- reading and writing, shared with the pages ---------------------------------------------


def transcript_of(service: InterviewService, session_id: str) -> ReviewSessionOut:
    """The scored transcript of a session, 404 if there is none."""
    try:
        return session_transcript(service.records(session_id, comments=True))
    except SessionNotFound:
        raise HTTPException(status_code=404, detail="session not found") from None


def mark_session_reviewed(db: Session, session_id: str, reviewed: bool) -> None:
    if not review_store.set_reviewed(db=db, session_id=session_id, reviewed=reviewed):
        raise HTTPException(status_code=404, detail="session not found")
    db.commit()


def save_override(
    service: InterviewService, db: Session, grade_id: int, body: OverrideIn, reviewer: Reviewer
) -> Override:
    grade = service.grade(grade_id)
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


def insights_out(db: Session) -> InsightsOut:
    return InsightsOut(**insights.read_insights(db=db))


# --- routes ---------------------------------------------------------------------------------


@router.get("/sessions", response_model=SessionPage)
def list_sessions(_reviewer: ApiReviewerDep, db: DbDep, filters: Annotated[SessionFilters, Query()]):
    return session_list(db, filters)


@router.get("/sessions/{session_id}", response_model=ReviewSessionOut)
def read_session(_reviewer: ApiReviewerDep, service: ServiceDep, session_id: SessionIdPath):
    return transcript_of(service, session_id)


@router.post("/sessions/{session_id}/reviewed", response_model=ReviewSessionOut)
def mark_reviewed(
    _reviewer: ApiReviewerDep, service: ServiceDep, db: DbDep, session_id: SessionIdPath, body: ReviewedIn
):
    mark_session_reviewed(db, session_id, body.reviewed)
    return transcript_of(service, session_id)


@router.post("/grades/{grade_id}/override", status_code=201, response_model=OverrideOut)
def override_grade(reviewer: ApiReviewerDep, service: ServiceDep, db: DbDep, grade_id: int, body: OverrideIn):
    return OverrideOut.model_validate(save_override(service, db, grade_id, body, reviewer).model_dump())


@router.post("/turns/{turn_id}/comments", status_code=201, response_model=CommentOut)
def comment_on_answer(reviewer: ApiReviewerDep, db: DbDep, turn_id: int, body: CommentIn):
    return CommentOut.model_validate(save_comment(db, turn_id, body.text, reviewer).model_dump())


@router.get("/insights", response_model=InsightsOut)
def read_insights(_reviewer: ApiReviewerDep, db: DbDep):
    return insights_out(db)
