"""The candidate's end-of-session report: one path for the API, the report page, the history and the terminal.

The same `report_answers` feeds `coach.report.session_overall` wherever a session's score is
shown (reviewer list and transcript, exports), so they all agree with the candidate's report.
"""

from __future__ import annotations

from coach import store
from coach.api.schemas import ReportOut
from coach.engine import SessionPlan
from coach.jobs import skills_exercised
from coach.presenters.records import SessionRecords
from coach.report import build_report, effective_scores, session_overall


def effective_grade(grade: store.GradeRecord, overrides: list) -> dict:
    """A stored grade as the report reads it: a reviewer's scores in place of the machine's, the
    machine's kept beside them (`machine_overall`, each criterion's `machine_score`)."""
    data = grade.model_dump()
    if not overrides:
        return {**data, "machine_overall": grade.overall, "reviewed": False}
    scores = effective_scores(grade, overrides)
    data["criteria"] = [{**c, "machine_score": c.get("score"), "score": scores.get(c.get("id"))} for c in grade.criteria]
    return {**data, "overall": scores[None], "machine_overall": grade.overall, "reviewed": True}


def report_answers(records: SessionRecords) -> list[dict]:
    """The candidate's turns in order, each with its grade as it counts, as `build_report` takes them."""
    by_turn = records.grade_by_turn()
    overrides = records.overrides_by_grade()
    return [
        {"stage": t.stage, "question_id": t.question_id, "kind": t.kind, "skipped": t.kind == "skip",
         "grade": effective_grade(by_turn[t.id], overrides.get(by_turn[t.id].id, [])) if t.id in by_turn else None}
        # A question the candidate asked the interviewer is not an answer; only the graded ones (the
        # stage's closing questions) count, on asking good questions.
        for t in records.turns if t.role == "candidate" and (t.kind != "candidate_question" or t.id in by_turn)
    ]


def planned_stages(session: store.InterviewSession) -> list[str]:
    return [s["stage"] for s in session.plan.get("stages", [])]


def overall_of(records: SessionRecords) -> float | None:
    """The session's overall as every page, list and export shows it."""
    return session_overall(report_answers(records))


def report_out(kb, records: SessionRecords) -> ReportOut:
    session = records.session
    answers = report_answers(records)
    report = build_report(
        kb, track=session.track, answers=answers, planned=planned_stages(session),
        ended_early=session.status == "ended",
    )
    asked = [a["question_id"] for a in answers if a["question_id"]]
    exercised, not_exercised = skills_exercised(kb, session.job_description or "", asked)
    return ReportOut(
        id=session.id, mode=session.mode, status=session.status, **report.model_dump(),
        length=SessionPlan.model_validate(session.plan).length,
        job_skills_exercised=exercised, job_skills_not_exercised=not_exercised,
    )


def session_report(service, session_id: str) -> ReportOut:
    """The report from what is stored, grading anything still waiting first (no connection held meanwhile)."""
    service.grading.complete(session_id)
    return report_out(service.kb, service.records(session_id))


def reviewed_answers(records: SessionRecords) -> dict[int, dict]:
    """turn id -> the reviewer's overall and the machine's, for the answers a reviewer changed."""
    overrides = records.overrides_by_grade()
    return {
        g.turn_id: {"score": effective_scores(g, overrides[g.id])[None], "machine": g.overall}
        for g in records.grades if overrides.get(g.id)
    }
