"""The candidate's JSON API: start a session, answer, read it back, finish, get the report."""

from __future__ import annotations

from typing import Annotated

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Header, HTTPException
from fastapi.sse import EventSourceResponse, ServerSentEvent

from coach import store
from coach.api.deps import CandidateSessionDep, DbDep, KnowledgeDep, ServiceDep, SettingsDep
from coach.api.schemas import (
    AnswerIn,
    AnswerOut,
    GradeOut,
    QuestionOut,
    ReplyOut,
    ReportOut,
    SessionCreate,
    SessionCreated,
    SessionOut,
    StageOut,
    TrackOut,
    TurnOut,
)
from coach.ratelimit import limit_answers, limit_sessions
from coach.engine import Cursor, SessionPlan, current_question
from coach.report import build_report
from coach.service import Accepted, AnswerInFlight, report_answers, AnswerResult, ReplyChunk, stage_deadline_iso

router = APIRouter(prefix="/api", tags=["candidate"])
IdempotencyKey = Annotated[str | None, Header(max_length=200, description="Repeat-safe submit key")]


@router.get("/tracks", response_model=list[TrackOut])
def list_tracks(kb: KnowledgeDep):
    return [
        TrackOut(
            id=track.id, title=track.title, seniorities=[s.id for s in track.seniorities],
            default_stages=list(track.default_stages),
            stages=[StageOut(id=s.id, title=s.title, minutes=s.minutes, focus=s.focus, success_rate=s.success_rate)
                    for s in track.stages],
        )
        for track in kb.tracks.values()
    ]


@router.post("/sessions", status_code=201, response_model=SessionCreated, dependencies=[Depends(limit_sessions)])
def create_session(body: SessionCreate, service: ServiceDep):
    session, token, turns = service.start_session(
        track=body.track, seniority=body.seniority, stages=body.stages, mode=body.mode, seed=body.seed
    )
    stage, question = _current(service.kb, session)
    return SessionCreated(
        id=session.id, token=token, mode=session.mode, stage=stage, question=question,
        messages=[_turn(t) for t in turns], stage_deadline=stage_deadline_iso(session),
    )


def accepted_answer(
    _limit: Annotated[None, Depends(limit_answers)],
    body: AnswerIn, session: CandidateSessionDep, service: ServiceDep, settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Accepted:
    """Store the answer before anything else; a refusal here is a plain 4xx, never a broken stream."""
    check_answer_length(body.text, settings.max_answer_chars)
    return service.accept_answer(session_id=session.id, text=body.text, idempotency_key=idempotency_key)


AcceptedDep = Annotated[Accepted, Depends(accepted_answer)]


@router.post("/sessions/{session_id}/answers", response_model=AnswerOut)
def submit_answer(accepted: AcceptedDep, service: ServiceDep):
    *_, result = service.respond(accepted)
    return answer_out(service.kb, result)


@router.post("/sessions/{session_id}/answers/stream", response_class=EventSourceResponse)
def submit_answer_streaming(accepted: AcceptedDep, service: ServiceDep) -> Iterator[ServerSentEvent]:
    """Like `POST /answers`, streamed: `token` events carry the reply as it is written, then one
    `done` event carries what `POST /answers` returns. A `restart` event (the LLM broke off and the
    offline interviewer takes over) means: drop the text streamed so far."""
    yield from stream_events(service, accepted)


def stream_events(service, accepted) -> Iterator[ServerSentEvent]:
    try:
        yield from _events(service, accepted)
    except AnswerInFlight as exc:  # another worker finished this step first: the answer is safe, reload
        yield ServerSentEvent(event="error", data={"detail": str(exc)})


def _events(service, accepted) -> Iterator[ServerSentEvent]:
    for chunk in service.respond(accepted):
        if isinstance(chunk, ReplyChunk) and chunk.restart:  # the LLM broke off: start the reply over
            yield ServerSentEvent(event="restart", data={})
        elif isinstance(chunk, ReplyChunk):
            yield ServerSentEvent(event="token", data={"text": chunk.text})
        else:
            yield ServerSentEvent(event="done", data=answer_out(service.kb, chunk).model_dump(mode="json"))


@router.post("/sessions/{session_id}/skip", response_model=AnswerOut, dependencies=[Depends(limit_answers)])
def skip_question(session: CandidateSessionDep, service: ServiceDep, idempotency_key: IdempotencyKey = None):
    result = service.submit_answer(
        session_id=session.id, text="(skipped)", skipped=True, idempotency_key=idempotency_key
    )
    return answer_out(service.kb, result)


@router.get("/sessions/{session_id}", response_model=SessionOut)
def read_session(session: CandidateSessionDep, service: ServiceDep, db: DbDep):
    service.resume_interrupted(session.id)
    return session_out(service.kb, db, store.get_session(db=db, session_id=session.id))


@router.post("/sessions/{session_id}/finish", response_model=SessionOut)
def finish_session(session: CandidateSessionDep, service: ServiceDep, db: DbDep):
    service.finish(session_id=session.id)
    return session_out(service.kb, db, store.get_session(db=db, session_id=session.id))


@router.get("/sessions/{session_id}/report", response_model=ReportOut)
def read_report(session: CandidateSessionDep, service: ServiceDep, db: DbDep):
    if session.status == "active":
        raise HTTPException(status_code=409, detail="the session is still running; finish it to get the report")
    service.complete_grades(session.id)  # before `db` is first used: no connection held while grading
    return report_out(service.kb, db, session)


# --- assembling responses -------------------------------------------------------------------


def check_answer_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise HTTPException(status_code=413, detail=f"the answer is too long: at most {limit} characters")


def _current(kb, session: store.InterviewSession) -> tuple[str | None, QuestionOut | None]:
    where = current_question(SessionPlan.model_validate(session.plan), Cursor.model_validate(session.cursor))
    if where is None:
        return None, None
    stage, question_id = where
    return stage, QuestionOut(id=question_id, text=kb.questions[question_id].prompt)


def _turn(turn: store.Turn, grade: store.GradeRecord | None = None) -> TurnOut:
    data = turn.model_dump()
    data["grade"] = GradeOut.of(grade) if grade is not None else None
    return TurnOut.model_validate(data)


def grades_visible(session: store.InterviewSession) -> bool:
    """Interview mode, like the real thing, shows no grade before the end."""
    return session.mode == "coach" or session.status != "active"


def transcript(db, session: store.InterviewSession) -> list[TurnOut]:
    grades = {g.turn_id: g for g in store.list_grades(db=db, session_id=session.id)} if grades_visible(session) else {}
    return [_turn(t, grades.get(t.id)) for t in store.list_turns(db=db, session_id=session.id)]


def session_out(kb, db, session: store.InterviewSession) -> SessionOut:
    stage, question = _current(kb, session)
    plan = SessionPlan.model_validate(session.plan)
    return SessionOut(
        id=session.id, track=session.track, seniority=session.seniority, mode=session.mode, status=session.status,
        stage=stage, question=question, stages=[s.stage for s in plan.stages],
        stage_index=Cursor.model_validate(session.cursor).stage_index, stage_deadline=stage_deadline_iso(session),
        created_at=session.created_at, finished_at=session.finished_at, messages=transcript(db, session),
    )


def answer_out(kb, result: AnswerResult) -> AnswerOut:
    stage, question = _current(kb, result.session)
    show = grades_visible(result.session) and result.session.mode == "coach"
    return AnswerOut(
        turn_id=result.answer.id, grade=GradeOut.of(result.grade) if show and result.grade else None,
        reply=ReplyOut(id=result.reply.id, text=result.reply.text, kind=result.reply.kind),
        stage=stage, question=question, done=result.session.status != "active",
        stage_deadline=stage_deadline_iso(result.session),
    )


def report_out(kb, db, session: store.InterviewSession) -> ReportOut:
    answers = report_answers(store.list_turns(db=db, session_id=session.id),
                             store.list_grades(db=db, session_id=session.id))
    report = build_report(kb, track=session.track, answers=answers)
    return ReportOut(id=session.id, mode=session.mode, status=session.status, **report.model_dump())
