"""The candidate's end-of-session report: one path for the API, the report page, the history and the terminal."""

from __future__ import annotations

from sqlmodel import Session

from coach import store
from coach.api.schemas import ReportOut
from coach.presenters.records import SessionRecords, read_records
from coach.report import build_report


def report_answers(records: SessionRecords) -> list[dict]:
    """The candidate's turns in order, each with its grade, as `build_report` takes them."""
    by_turn = records.grade_by_turn()
    return [
        {"stage": t.stage, "question_id": t.question_id, "skipped": t.kind == "skip",
         "grade": by_turn[t.id].model_dump() if t.id in by_turn else None}
        for t in records.turns if t.role == "candidate"
    ]


def report_out(kb, records: SessionRecords) -> ReportOut:
    session = records.session
    report = build_report(kb, track=session.track, answers=report_answers(records))
    return ReportOut(id=session.id, mode=session.mode, status=session.status, **report.model_dump())


def session_report(service, session_id: str) -> ReportOut:
    """The report from what is stored, grading anything still waiting first (no connection held meanwhile)."""
    service.complete_grades(session_id)
    with Session(service.engine, expire_on_commit=False) as db:
        session = store.get_session(db=db, session_id=session_id)
        return report_out(service.kb, read_records(db, session))
