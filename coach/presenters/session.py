"""The candidate's view of a session: where it stands, its transcript, the answer just given."""

from __future__ import annotations

from coach import store
from coach.api.schemas import AnswerOut, GradeOut, QuestionOut, ReplyOut, SessionOut, TurnOut
from coach.engine import Cursor, SessionPlan, current_question
from coach.presenters.records import SessionRecords
from coach.service import AnswerResult, stage_deadline_iso


def current_question_out(kb, session: store.InterviewSession) -> tuple[str | None, QuestionOut | None]:
    """(stage, question) the session is on; (None, None) once it has ended."""
    where = current_question(SessionPlan.model_validate(session.plan), Cursor.model_validate(session.cursor))
    if where is None:
        return None, None
    stage, question_id = where
    return stage, QuestionOut(id=question_id, text=kb.questions[question_id].prompt)


def turn_out(turn: store.Turn, grade: store.GradeRecord | None = None) -> TurnOut:
    data = turn.model_dump()
    data["grade"] = GradeOut.of(grade) if grade is not None else None
    return TurnOut.model_validate(data)


def grades_visible(session: store.InterviewSession) -> bool:
    """Interview mode, like the real thing, shows no grade before the end."""
    return session.mode == "coach" or session.status != "active"


def transcript_out(records: SessionRecords) -> list[TurnOut]:
    grades = records.grade_by_turn() if grades_visible(records.session) else {}
    return [turn_out(t, grades.get(t.id)) for t in records.turns]


def session_out(kb, records: SessionRecords) -> SessionOut:
    session = records.session
    stage, question = current_question_out(kb, session)
    plan = SessionPlan.model_validate(session.plan)
    return SessionOut(
        id=session.id, track=session.track, seniority=session.seniority, mode=session.mode, status=session.status,
        stage=stage, question=question, stages=[s.stage for s in plan.stages],
        stage_index=Cursor.model_validate(session.cursor).stage_index, stage_deadline=stage_deadline_iso(session),
        created_at=session.created_at, finished_at=session.finished_at, messages=transcript_out(records),
        drill_of=session.drill_of, drill=plan.drill,
    )


def answer_out(kb, result: AnswerResult) -> AnswerOut:
    stage, question = current_question_out(kb, result.session)
    show = grades_visible(result.session) and result.session.mode == "coach"
    return AnswerOut(
        turn_id=result.answer.id, grade=GradeOut.of(result.grade) if show and result.grade else None,
        model_answer=kb.model_answers.get(result.answer.question_id) if show and result.grade else None,
        reply=ReplyOut(id=result.reply.id, text=result.reply.text, kind=result.reply.kind),
        stage=stage, question=question, done=result.session.status != "active",
        stage_deadline=stage_deadline_iso(result.session),
    )
