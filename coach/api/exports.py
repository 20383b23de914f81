"""The reviewer's downloads, defined once and mounted twice: under /api/review for a bearer token
and under /review for the logged-in pages (the login cookie is scoped to /review)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from coach import exports, review_store
from coach.api.deps import AnyReviewerDep, ServiceDep, SessionIdPath
from coach.api.review import transcript_of
from coach.presenters.review import grade_export_records

router = APIRouter()


def download(body: str, media_type: str, filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content=body, media_type=media_type, headers=headers)


@router.get("/sessions/{session_id}/export.json")
def session_json(_reviewer: AnyReviewerDep, service: ServiceDep, session_id: SessionIdPath):
    transcript = transcript_of(service, session_id)
    return download(exports.transcript_json(transcript), "application/json", f"coach-session-{transcript.id}.json")


@router.get("/sessions/{session_id}/export.md", response_class=PlainTextResponse)
def session_markdown(_reviewer: AnyReviewerDep, service: ServiceDep, session_id: SessionIdPath):
    transcript = transcript_of(service, session_id)
    return download(exports.transcript_markdown(transcript), "text/markdown; charset=utf-8",
                    f"coach-session-{transcript.id}.md")


@router.get("/export/grades.csv", response_class=PlainTextResponse)
def grades_csv(_reviewer: AnyReviewerDep, service: ServiceDep):
    """Every grade, one row per answer and criterion, streamed as it is read (a batch of sessions at a time)."""
    records = grade_export_records(review_store.export_batches(service.db_engine))
    headers = {"Content-Disposition": 'attachment; filename="coach-grades.csv"'}
    return StreamingResponse(exports.csv_lines(records), media_type="text/csv; charset=utf-8", headers=headers)
