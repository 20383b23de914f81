"""The candidate's JSON API: start a session, answer, read it back, finish, get the report."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException
from fastapi.sse import EventSourceResponse, ServerSentEvent

from coach import store
from coach.api.deps import CandidateSessionDep, KnowledgeDep, ServiceDep, SettingsDep
from coach.api.schemas import (
    AnswerIn,
    AnswerOut,
    DrillIn,
    DrillsOut,
    ReportOut,
    SessionCreate,
    SessionCreated,
    SessionOut,
    StageOut,
    TrackOut,
)
from coach.coderun import answer_text, task_for_browser
from coach.engine import DrillTarget
from coach.presenters.drills import comparisons, drill_target, original_of
from coach.presenters.report import session_report
from coach.presenters.session import answer_out, current_question_out, session_out, turn_out
from coach.ratelimit import limit_answers, limit_sessions
from coach.service import Accepted, AnswerInFlight, AnswerResult, ReplyChunk, stage_deadline_iso

router = APIRouter(prefix="/api", tags=["candidate"])
IdempotencyKey = Annotated[str | None, Header(max_length=200, description="Repeat-safe submit key")]


@router.get("/tracks", response_model=list[TrackOut])
def list_tracks(kb: KnowledgeDep):
    return [
        TrackOut(
            id=track.id, title=track.title, default=track.default, seniorities=[s.id for s in track.seniorities],
            default_seniority=track.default_seniority, default_stages=list(track.default_stages),
            stages=[StageOut(id=s.id, title=s.title, minutes=s.minutes, focus=s.focus, success_rate=s.success_rate)
                    for s in track.stages],
        )
        for track in kb.tracks.values()
    ]


@router.post("/sessions", status_code=201, response_model=SessionCreated, dependencies=[Depends(limit_sessions)])
def create_session(body: SessionCreate, service: ServiceDep):
    session, token, turns = service.start_session(
        track=body.track, seniority=body.seniority, stages=body.stages, mode=body.mode, seed=body.seed,
        length=body.length, job_description=body.job_description, cv_summary=body.cv_summary,
    )
    return created_out(service, session, token, turns)


def created_out(service, session: store.InterviewSession, token: str, turns: list[store.Turn]) -> SessionCreated:
    stage, question = current_question_out(service.kb, session)
    return SessionCreated(
        id=session.id, token=token, mode=session.mode, stage=stage, question=question,
        messages=[turn_out(t) for t in turns], stage_deadline=stage_deadline_iso(session),
        drill_of=session.drill_of, drill=drill_target(session),
    )


@router.post("/sessions/{session_id}/drills", status_code=201, response_model=SessionCreated,
             dependencies=[Depends(limit_sessions)])
def create_drill(body: DrillIn, session: CandidateSessionDep, service: ServiceDep):
    """Retry one question the session asked, or one stage it had, as a new session linked to it
    (its own token, returned once). 422 for a question it never asked or a stage it did not have;
    409 while the session is still running."""
    drill, token, turns = service.start_drill(session_id=session.id, target=DrillTarget(**body.model_dump()))
    return created_out(service, drill, token, turns)


@router.get("/sessions/{session_id}/drills", response_model=DrillsOut)
def read_drills(session: CandidateSessionDep, service: ServiceDep):
    """The drills of this session's original, each question or stage with its attempts side by side."""
    original = original_of(session)
    return DrillsOut(original=original, comparisons=comparisons(service.kb, service.records(original),
                                                                service.drill_records(original)))


def accepted_answer(
    _limit: Annotated[None, Depends(limit_answers)],
    body: AnswerIn, session: CandidateSessionDep, service: ServiceDep, settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Accepted:
    """Store the answer before anything else; a refusal here is a plain 4xx, never a broken stream."""
    text = answer_text(body.text, body.code)
    check_answer_length(text, settings.max_answer_chars)
    return service.accept_answer(session_id=session.id, text=text, code=body.code, idempotency_key=idempotency_key)


AcceptedDep = Annotated[Accepted, Depends(accepted_answer)]


@router.post("/sessions/{session_id}/answers", response_model=AnswerOut)
def submit_answer(accepted: AcceptedDep, service: ServiceDep):
    *_, result = service.respond(accepted)
    assert isinstance(result, AnswerResult)  # respond() ends with the result
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


@router.get("/sessions/{session_id}/task")
def read_task(session: CandidateSessionDep, service: ServiceDep) -> dict:
    """The current question's runnable task for the browser: language, starter code, tests (hidden ones
    marked) and, for SQL, the seed schema; never the reference solution. 404 if it has none."""
    _, question = current_question_out(service.kb, session)
    task = task_for_browser(service.kb.questions[question.id]) if question else None
    if task is None:
        raise HTTPException(status_code=404, detail="the current question has no code to run")
    return {"question_id": question.id, **task}


@router.get("/sessions/{session_id}", response_model=SessionOut)
def read_session(session: CandidateSessionDep, service: ServiceDep):
    service.resume_interrupted(session.id)
    return session_out(service.kb, service.records(session.id))


@router.post("/sessions/{session_id}/finish", response_model=SessionOut)
def finish_session(session: CandidateSessionDep, service: ServiceDep):
    service.finish(session_id=session.id)
    return session_out(service.kb, service.records(session.id))


@router.get("/sessions/{session_id}/report", response_model=ReportOut)
def read_report(session: CandidateSessionDep, service: ServiceDep):
    if service.settle(session.id).status == "active":  # a last answer left half done may end it
        raise HTTPException(status_code=409, detail="the session is still running; finish it to get the report")
    return session_report(service, session.id)


# --- assembling responses -------------------------------------------------------------------


def check_answer_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise HTTPException(status_code=413, detail=f"the answer is too long: at most {limit} characters")
