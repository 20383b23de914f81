"""A session's drills side by side with the original: what the API's drills call and the history show."""

from __future__ import annotations

from coach import store
from coach.drills import AttemptRecord, Comparison, compare
from coach.engine import DrillTarget, SessionPlan
from coach.presenters.records import SessionRecords
from coach.presenters.report import report_answers

SAID_KINDS = ("answer", "candidate_question")  # asking for the requirements is covering them


def attempt_record(records: SessionRecords) -> AttemptRecord:
    said: dict[str, list[str]] = {}
    for turn in records.turns:
        if turn.role == "candidate" and turn.kind in SAID_KINDS and turn.question_id:
            said.setdefault(turn.question_id, []).append(turn.text)
    session = records.session
    return AttemptRecord(
        session_id=session.id, started_at=session.created_at, status=session.status,
        answers=report_answers(records), said={qid: "\n".join(texts) for qid, texts in said.items()},
    )


def original_of(session: store.InterviewSession) -> str:
    return session.drill_of or session.id


def drill_target(session: store.InterviewSession) -> DrillTarget | None:
    return SessionPlan.model_validate(session.plan).drill


def comparisons(kb, original: SessionRecords, drills: list[SessionRecords]) -> list[Comparison]:
    """One comparison per question or stage drilled: the original, then each ended drill of it (a
    running drill is left out, since interview mode shows no grade before the end)."""
    targets: dict[DrillTarget, list[SessionRecords]] = {}
    for drill in drills:
        target = drill_target(drill.session)
        if target is not None and drill.session.status != "active":
            targets.setdefault(target, []).append(drill)
    if not targets:
        return []
    first = attempt_record(original)
    plan = SessionPlan.model_validate(original.session.plan)
    return [
        compare(kb, plan, target, [first, *(attempt_record(records) for records in attempts)])
        for target, attempts in targets.items()
    ]
