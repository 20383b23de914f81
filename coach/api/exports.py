"""The reviewer's downloads, defined once and mounted twice: under /api/review for a bearer token
and under /review for the logged-in pages (the login cookie is scoped to /review)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from coach import exports, review_store
from coach.api.deps import AnyReviewerDep, DbDep, SessionIdPath
from coach.api.review import transcript_of
from coach.presenters.review import grade_out

router = APIRouter()


def download(body: str, media_type: str, filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content=body, media_type=media_type, headers=headers)


@router.get("/sessions/{session_id}/export.json")
def session_json(_reviewer: AnyReviewerDep, db: DbDep, session_id: SessionIdPath):
    transcript = transcript_of(db, session_id)
    return download(exports.transcript_json(transcript), "application/json", f"coach-session-{transcript.id}.json")


@router.get("/sessions/{session_id}/export.md", response_class=PlainTextResponse)
def session_markdown(_reviewer: AnyReviewerDep, db: DbDep, session_id: SessionIdPath):
    transcript = transcript_of(db, session_id)
    return download(exports.transcript_markdown(transcript), "text/markdown; charset=utf-8",
                    f"coach-session-{transcript.id}.md")


@router.get("/export/grades.csv", response_class=PlainTextResponse)
def grades_csv(_reviewer: AnyReviewerDep, db: DbDep):
    """Every grade, one row per answer and criterion (one row with no criterion for a grade without any)."""
    sessions = review_store.sessions_by_id(db=db)
    grouped = review_store.overrides_by_grade(review_store.list_overrides(db=db))
    answers = review_store.candidate_text_by_turn(db=db)
    records = (
        record
        for grade in review_store.all_grades(db=db)
        for record in exports.grade_csv_records(
            sessions[grade.session_id], grade, grade_out(grade, grouped.get(grade.id, [])),
            answers.get(grade.turn_id, ""),
        )
    )
    return download("".join(exports.csv_lines(records)), "text/csv; charset=utf-8", "coach-grades.csv")
