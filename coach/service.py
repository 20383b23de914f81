"""The application: runs an interview by tying the engine, the interviewer, the scorer and storage.

Every step is stored before the next thing happens: a candidate's answer is committed first,
then graded, then the interviewer's reply is written. A step interrupted by a crash is finished
by whichever worker touches the session next, so no correctness depends on process memory.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from coach import asking, store
from coach.coderun import CodeAnswer, check_code_answer, stored
from coach.config import Settings
from coach.drills import drill_plan
from coach.engine import (
    INVITE,
    Cursor,
    DrillTarget,
    SessionPlan,
    Step,
    advance,
    build_plan,
    current_phase,
    current_question,
    end_early,
    start,
    take_question,
)
from coach.grading import GradeQueue
from coach.interviewer import Exchange, InterviewContext, Interviewer, Restart
from coach.jobs import job_terms
from coach.knowledge import KnowledgeBase
from coach.listening import Heard, clarifying, listen
from coach.presenters.records import SessionRecords, read_records

log = logging.getLogger(__name__)
RECENT_TURNS = 2  # the question just asked and the answer to it: what the next turn reacts to


class SessionNotFound(Exception):
    """No session with that id for that token."""


class SessionStillActive(Exception):
    """The session is still running; what was asked needs it finished."""


class SessionOver(Exception):
    """The session has finished; it takes no more answers."""


class IdempotencyMismatch(Exception):
    """An Idempotency-Key sent again with a different request."""


class AnswerInFlight(Exception):
    """Another answer to this session is being processed right now."""


class StepUnfinished(AnswerInFlight):
    """The session's last answer has no reply yet: in flight, or left half done by a crash or a dropped stream."""


@dataclass
class AnswerResult:
    answer: store.Turn
    grade: store.GradeRecord | None
    reply: store.Turn
    session: store.InterviewSession


@dataclass
class Accepted:
    """An answer safely stored, waiting for its grade and reply."""

    session_id: str
    answer: store.Turn
    grade: store.GradeRecord | None
    replay: AnswerResult | None = None
    session: store.InterviewSession | None = None  # as read when the answer was stored
    turns: list[store.Turn] | None = None  # the session's turns up to the answer


@dataclass
class ReplyChunk:
    """A piece of the interviewer's reply while it streams; `restart`: drop what streamed so far."""

    text: str
    restart: bool = False


@dataclass
class Spoken:
    """What the interviewer said for a step, as it streams: a restart drops the pieces so far."""

    pieces: list[str] = field(default_factory=list)
    offline: bool = False  # written by the offline interviewer (from the start, or after a restart)

    @property
    def text(self) -> str:
        return "".join(self.pieces)


class InterviewService:
    def __init__(
        self,
        *,
        kb: KnowledgeBase,
        settings: Settings,
        db_engine: Engine,
        interviewer: Interviewer,
        grading: GradeQueue,
        now=lambda: store.utcnow(),
    ):
        self.kb = kb
        self.settings = settings
        self.db_engine = db_engine  # SQLAlchemy's: the interview's state machine is coach.engine
        self.interviewer = interviewer
        self.grading = grading
        self.now = now
        self.started_at = store.utcnow()
        # This process's steps in progress (answer turn id -> "live") or left by a client that dropped the
        # stream ("dropped"), so a request can tell a step another thread is answering from an abandoned one.
        self._steps: dict[int, str] = {}
        self._dropped_at: dict[int, float] = {}  # monotonic time of each drop: forgotten after a lease

    # --- starting -----------------------------------------------------------------------

    def start_session(
        self, *, track: str | None, seniority: str | None, stages: list[str] | None, mode: str,
        seed: int | None = None, length: str | None = None, job_description: str = "", cv_summary: str = "",
    ) -> tuple[store.InterviewSession, str, list[store.Turn]]:
        """Plan and open a session; no track, seniority or length: the knowledge base's defaults (the plan's)."""
        seed = secrets.randbelow(2**31) if seed is None else seed
        plan = build_plan(
            self.kb, track=track, seniority=seniority, stages=stages, seed=seed,
            max_follow_ups=self.settings.max_follow_ups, length=length,
            preferred_terms=job_terms(self.kb, job_description),
        )
        return self._open(
            plan, mode=mode, seed=seed, job_description=job_description, cv_summary=cv_summary,
        )

    def start_drill(
        self, *, session_id: str, target: DrillTarget
    ) -> tuple[store.InterviewSession, str, list[store.Turn]]:
        """A new session that retries one question or stage of a finished one, linked to its original.

        Refused (DrillError, SessionNotFound, SessionStillActive) before anything is written."""
        with self.db_engine.connect() as db:
            past = store.read_session(db=db, session_id=session_id)
            if past is None:
                raise SessionNotFound(session_id)
            if past.status == "active":
                raise SessionStillActive("finish this session before drilling one of its questions or stages")
            asked = asked_questions(store.read_turns(db=db, session_id=session_id))
        plan = drill_plan(self._plan(past), asked, target)
        return self._open(
            plan, mode=past.mode, seed=past.seed, job_description=past.job_description or "",
            cv_summary=past.cv_summary or "", drill_of=past.drill_of or past.id,
        )

    def _open(self, plan: SessionPlan, **values) -> tuple[store.InterviewSession, str, list[store.Turn]]:
        """Store a new session on `plan` with the interviewer's opening turn; (session, its token, turns)."""
        cursor, step = start(plan, self.now())
        token = secrets.token_urlsafe(32)
        row_values = dict(
            id=secrets.token_hex(8), token_hash=store.hash_token(token), track=plan.track, seniority=plan.seniority,
            plan=plan.model_dump(mode="json"), cursor=cursor.model_dump(mode="json"), **values,
        )
        context = InterviewContext(track=plan.track, seniority=plan.seniority, opening=True)
        text, offline = self._say(step, context)
        with self.db_engine.connect() as db, store.write_lock(self.db_engine):
            row = store.insert_session(db=db, **row_values)
            turn = self._add_interviewer_turn(db, row.id, step, text, offline, seq=0)
            db.commit()
        return row, token, [turn]

    # --- answering ----------------------------------------------------------------------

    def submit_answer(
        self, *, session_id: str, text: str, skipped: bool = False, idempotency_key: str | None = None
    ) -> AnswerResult:
        accepted = self.accept_answer(
            session_id=session_id, text=text, skipped=skipped, idempotency_key=idempotency_key
        )
        *_, result = self.respond(accepted)
        assert isinstance(result, AnswerResult)  # respond() ends with the result
        return result

    def accept_answer(
        self, *, session_id: str, text: str, skipped: bool = False, idempotency_key: str | None = None,
        code: CodeAnswer | None = None,
    ) -> Accepted:
        """Commit the answer (or find the one this idempotency key already stored).

        `text` is the whole answer (a code answer's code included, see coach.coderun.answer_text);
        `code` adds its structured parts, checked against the current question's task first."""
        idempotency_key = (idempotency_key or "").strip() or None  # an empty header is no key, not the key ""
        try:
            return self._accept(session_id, text, skipped, idempotency_key, code)
        except StepUnfinished:
            if not self.resume_interrupted(session_id):  # a worker is on it: the client retries in a moment
                raise
            return self._accept(session_id, text, skipped, idempotency_key, code)

    def _accept(self, session_id, text, skipped, idempotency_key, code) -> Accepted:
        replay = self._replay(session_id, idempotency_key, "skip" if skipped else "answer", text)
        if replay is not None:
            return Accepted(session_id=session_id, answer=replay.answer, grade=replay.grade, replay=replay)
        return self._store_answer(session_id, text, skipped, idempotency_key, code)

    def respond(self, accepted: Accepted) -> Iterator[ReplyChunk | AnswerResult]:
        """Grade the answer (coach mode), then stream the interviewer's reply; the result comes last."""
        if accepted.replay is not None:
            yield ReplyChunk(accepted.replay.reply.text)
            yield accepted.replay
            return
        yield from self._respond(accepted.session_id, accepted.answer, accepted.grade, accepted.session, accepted.turns)

    def _store_answer(self, session_id, text, skipped, idempotency_key, code=None) -> Accepted:
        """One short transaction: read the session and its turns, add the answer (and its pending grade), commit."""
        with self.db_engine.connect() as db:
            # Turns first, then the session: a reply committed in between can only make the session
            # newer than the turns read, never older, so the answer is filed under the right question.
            turns = store.read_turns(db=db, session_id=session_id)
            session = self._active_session(db, session_id)
            if turns and turns[-1].role == "candidate":
                raise StepUnfinished("the previous answer is still being processed; retry in a moment")
            plan, cursor = self._plan(session), self._cursor(session)
            stage, question_id = current_question(plan, cursor)
            phase = current_phase(plan, cursor)
            kind = message_kind(text, skipped=skipped, in_questions=cursor.asking)
            if code is not None:  # before anything is written: a refused run changes nothing stored
                check_code_answer(self.kb.questions.get(question_id), code)
            try:
                with store.write_lock(self.db_engine):
                    answer = store.insert_turn(
                        db=db, session_id=session_id, seq=turns[-1].seq + 1 if turns else 0, role="candidate",
                        kind=kind, stage=stage, question_id=question_id, phase=phase, text=text,
                        idempotency_key=idempotency_key, code=stored(code) if code is not None else None,
                    )
                    grade = store.insert_pending_grade(
                        db=db, turn=answer, question_text=self._question_text(question_id, phase)
                    ) if graded(kind, phase) else None
                    db.commit()  # the answer is safe from here on, whatever fails next
            except IntegrityError as exc:  # the same turn number was taken by a concurrent submit
                raise AnswerInFlight("another answer to this session arrived at the same time") from exc
        _log_event("answer stored", session=session_id, seq=answer.seq, stage=stage, kind=answer.kind)
        return Accepted(session_id=session_id, answer=answer, grade=grade, session=session, turns=[*turns, answer])

    def _respond(self, session_id, answer, grade, session=None, turns=None) -> Iterator[ReplyChunk | AnswerResult]:
        """`_step`, known to this process as live while it runs and as abandoned if its client drops the stream."""
        self._steps[answer.id] = "live"
        dropped = False
        try:
            yield from self._step(session_id, answer, grade, session, turns)
        except GeneratorExit:  # the client went away: the next request finishes the step, at once
            dropped = True
            raise
        finally:
            if dropped:
                self._steps[answer.id] = "dropped"
                self._dropped_at[answer.id] = time.monotonic()
            else:
                self._steps.pop(answer.id, None)
            self._forget_old_drops()

    def _forget_old_drops(self) -> None:
        """A drop older than a lease needs no memory: its answer is older than a lease, which counts as
        abandoned anyway (see _abandoned). Without this, streams dropped and never resumed would pile up."""
        horizon = time.monotonic() - self.settings.lease_seconds
        for turn_id, at in list(self._dropped_at.items()):  # a copy: other threads' steps end meanwhile
            if at < horizon:
                self._dropped_at.pop(turn_id, None)
                if self._steps.get(turn_id) == "dropped":
                    self._steps.pop(turn_id, None)

    def _step(self, session_id, answer, grade, session=None, turns=None) -> Iterator[ReplyChunk | AnswerResult]:
        """Grade, decide the next step, speak, then store the reply and the new cursor in one transaction.

        `session` and `turns` (up to the answer) are what the caller read when it stored the answer;
        without them they are read here. No database connection is held while the LLM grades or speaks."""
        if session is None or turns is None:
            with self.db_engine.connect() as db:
                session = store.read_session(db=db, session_id=session_id)
                turns = [t for t in store.read_turns(db=db, session_id=session_id) if t.seq <= answer.seq]
        if grade is not None and session.mode == "coach":
            grade = self._grade_inline(grade)
        elif grade is not None:
            self.grading.waiting()
        new_cursor, step, heard = self._next_step(self._plan(session), self._cursor(session), answer, grade, turns)
        context = self._context(session, turns, heard=heard)
        spoken = Spoken()
        yield from self._relay(step, context, spoken)
        reply, session = self._finish_step(session, step, spoken.text, spoken.offline, new_cursor, seq=answer.seq + 1)
        if grade is not None and grade.status != "done":  # another worker may have finished it meanwhile
            with self.db_engine.connect() as db:
                grade = store.read_grade(db=db, grade_id=grade.id)
        yield AnswerResult(answer=answer, grade=grade, reply=reply, session=session)

    def _grade_inline(self, grade: store.GradeRecord) -> store.GradeRecord:
        """Grade now for coach mode; if grading itself breaks, the interview goes on and the worker retries."""
        try:
            return self.grading.grade_now(grade.id) or grade
        except Exception:
            log.exception("grading answer %s failed; left to the background worker", grade.turn_id)
            self.grading.waiting()
            return grade

    def _next_step(self, plan: SessionPlan, cursor: Cursor, answer: store.Turn, grade, turns) -> tuple[Cursor, Step, dict]:
        """The engine's next step for this message, and what was heard in it (for the interviewer's words)."""
        now = self.now()
        if answer.kind == "candidate_question":
            if cursor.asking and asking.has_no_more_questions(answer.text):
                return *advance(plan, cursor, now=now), {}
            return *take_question(plan, cursor, now=now), {"ask": asking.recognise(answer.text) or "clarify"}
        question = self.kb.questions.get(answer.question_id)
        if question is None or answer.kind != "answer":
            return *advance(plan, cursor, now=now, skipped=answer.kind == "skip"), {}
        heard = self._listen(question, answer, grade, turns)
        cursor, step = advance(
            plan, cursor, now=now, missed_points=heard.missed, follow_up_points=heard.follow_up_points,
            non_answer=heard.non_answer,
        )
        return cursor, step, {"quote": heard.quote, "missing": heard.missing}

    def _listen(self, question, answer: store.Turn, grade, turns: list[store.Turn]) -> Heard:
        """What the whole answer so far (follow-ups and code included) covered and missed."""
        so_far = answer_so_far(turns, answer, clarifying=clarifying(self.kb, question, answer.phase))
        grader_missed = grade.missed_points if grade is not None and grade.status == "done" else None
        return listen(self.kb, question, answer.phase, so_far=so_far, this=answer.text, grader_missed=grader_missed)

    def _finish_step(self, session, step, text, offline, cursor: Cursor, seq: int | None = None):
        """Store the reply and move the session's cursor, in one transaction; (reply, moved session)."""
        with self.db_engine.connect() as db, store.write_lock(self.db_engine):
            try:
                reply = self._add_interviewer_turn(db, session.id, step, text, offline, seq=seq)
            except IntegrityError as exc:
                raise AnswerInFlight("another worker already answered this step") from exc
            moved = store.move_session(db=db, session=session, cursor=cursor.model_dump(mode="json"))
            if moved is None:
                db.rollback()
                raise AnswerInFlight("the session moved on while this answer was processed")
            db.commit()
        _log_event("reply stored", session=session.id, seq=reply.seq, kind=step.kind, offline=offline,
                   status=moved.status)
        return reply, moved

    def settle(self, session_id: str) -> store.InterviewSession:
        """The session as it stands once a step left half done is finished (unless a worker is on it now)."""
        self.resume_interrupted(session_id)
        return self.session(session_id)

    def resume_interrupted(self, session_id: str) -> bool:
        """Finish a step left half done (an answer stored with no reply after it, by a crashed worker or a
        dropped stream) unless a worker is on it now; False if one is, so the step is still unfinished."""
        with self.db_engine.connect() as db:
            turns = store.read_turns(db=db, session_id=session_id)
            session = store.read_session(db=db, session_id=session_id)
            if not turns or turns[-1].role != "candidate" or session is None or session.status != "active":
                return True
            answer = turns[-1]
            if not self._abandoned(answer):
                return False
            grades = [g for g in store.read_grades(db=db, session_id=session_id) if g.turn_id == answer.id]
        try:
            list(self._respond(session_id, answer, grades[0] if grades else None, session, turns))  # run it through
        except (AnswerInFlight, IntegrityError):
            log.info("session %s was resumed by another worker", session_id)
        return True

    def _abandoned(self, answer: store.Turn) -> bool:
        """Nobody is answering it: this process knows its own steps (live, or dropped by the client); one
        stored before this process started, or longer ago than a lease, no other worker is on either."""
        known = self._steps.get(answer.id)
        if known is not None:
            return known == "dropped"
        lease = timedelta(seconds=self.settings.lease_seconds)
        return answer.created_at < self.started_at or answer.created_at < store.utcnow() - lease

    # --- reading: the one read path for routers, presenters and the terminal (Core, one short connection) ---

    def session(self, session_id: str) -> store.InterviewSession:
        with self.db_engine.connect() as db:
            session = store.read_session(db=db, session_id=session_id)
        if session is None:
            raise SessionNotFound(session_id)
        return session

    def session_for_token(self, session_id: str, token: str | None) -> store.InterviewSession | None:
        """The session if the token is its own; None otherwise, so a wrong token looks like no session."""
        with self.db_engine.connect() as db:
            return store.read_session_for_token(db=db, session_id=session_id, token=token)

    def records(self, session_id: str, *, comments: bool = False) -> SessionRecords:
        """What is stored about the session (its reviewers' comments when asked for)."""
        with self.db_engine.connect() as db:
            session = store.read_session(db=db, session_id=session_id)
            if session is None:
                raise SessionNotFound(session_id)
            return read_records(db, session, comments=comments)

    def drill_records(self, session_id: str) -> list[SessionRecords]:
        """The records of the session's drills, oldest first."""
        with self.db_engine.connect() as db:
            return [read_records(db, drill) for drill in store.read_drills(db=db, session_id=session_id)]

    def grade(self, grade_id: int) -> store.GradeRecord | None:
        with self.db_engine.connect() as db:
            return store.read_grade(db=db, grade_id=grade_id)

    def waiting_grades(self) -> int:
        with self.db_engine.connect() as db:
            return store.count_waiting_grades(db=db)

    # --- ending -------------------------------------------------------------------------

    def finish(self, *, session_id: str) -> store.InterviewSession:
        session = self.settle(session_id)
        if session.status != "active":
            return session
        cursor, step = end_early(self._cursor(session))
        text, offline = self._say(step, self._context(session, []))
        _, session = self._finish_step(session, step, text, offline, cursor)
        return session

    # --- helpers ------------------------------------------------------------------------

    def _say(self, step: Step, context: InterviewContext) -> tuple[str, bool]:
        """The interviewer's whole message for a step nobody watches stream: (text, offline)."""
        spoken = Spoken()
        list(self._relay(step, context, spoken))  # run it through: only what stands at the end is kept
        return spoken.text, spoken.offline

    def _relay(self, step: Step, context: InterviewContext, spoken: Spoken) -> Iterator[ReplyChunk]:
        """The interviewer's words as chunks to stream; `spoken` keeps what stands once they end."""
        spoken.offline = self.interviewer.name == "offline"
        for piece in self.interviewer.reply(step, context):
            if isinstance(piece, Restart):  # the LLM broke off: its words so far are dropped
                spoken.pieces.clear()
                spoken.offline = piece.by == "offline"
                yield ReplyChunk("", restart=True)
            else:
                spoken.pieces.append(piece)
                yield ReplyChunk(piece)

    def _add_interviewer_turn(self, db, session_id, step: Step, text: str, offline: bool, seq=None) -> store.Turn:
        return store.insert_turn(
            db=db, session_id=session_id, seq=seq, role="interviewer", kind=step.kind, stage=step.stage,
            question_id=step.question_id, phase=step.phase, text=text, offline=offline,
        )

    def _context(self, session, turns, opening: bool = False, heard: dict | None = None) -> InterviewContext:
        heard = heard or {}
        recent = [Exchange(role=t.role, text=t.text) for t in turns[-RECENT_TURNS:]]
        previous = next((t.text for t in reversed(turns) if t.role == "interviewer"), "")
        return InterviewContext(
            track=session.track, seniority=session.seniority, opening=opening, recent=recent, turn=len(turns),
            previous=previous, ask=heard.get("ask"), quote=heard.get("quote"), missing=heard.get("missing", []),
            job_description=getattr(session, "job_description", "") or "",
            cv_summary=getattr(session, "cv_summary", "") or "",
        )

    def _active_session(self, db, session_id) -> store.InterviewSession:
        session = store.read_session(db=db, session_id=session_id)
        if session is None:
            raise SessionNotFound(session_id)
        if session.status != "active":
            raise SessionOver("this session has finished; start a new one")
        return session

    def _replay(self, session_id: str, key: str | None, expected_kind: str, text: str) -> AnswerResult | None:
        if not key:
            return None
        with self.db_engine.connect() as db:
            turns = store.read_turns(db=db, session_id=session_id)
            answer = next((t for t in turns if t.idempotency_key == key), None)
            if answer is None:
                return None
            if (answer.kind, answer.text) != (expected_kind, text):
                raise IdempotencyMismatch("this Idempotency-Key was already used for a different answer")
            replies = [t for t in turns if t.seq == answer.seq + 1]
            if not replies:
                raise StepUnfinished("this answer is still being processed; retry in a moment")
            grades = [g for g in store.read_grades(db=db, session_id=session_id) if g.turn_id == answer.id]
            session = store.read_session(db=db, session_id=session_id)
        return AnswerResult(answer=answer, grade=grades[0] if grades else None, reply=replies[0], session=session)

    def _question_text(self, question_id: str | None, phase: str | None = None) -> str:
        question = self.kb.questions.get(question_id) if question_id else None
        if question is None:
            return ""
        if phase and phase != INVITE and question.id in self.kb.sheets:
            return f"{question.prompt}\n\n{self.kb.formats.for_stage(question.stage).phase(phase).title}"
        return question.prompt

    @staticmethod
    def _plan(session: store.InterviewSession) -> SessionPlan:
        return SessionPlan.model_validate(session.plan)

    @staticmethod
    def _cursor(session: store.InterviewSession) -> Cursor:
        return Cursor.model_validate(session.cursor)


def message_kind(text: str, *, skipped: bool, in_questions: bool) -> str:
    """How a candidate's message is stored: an answer, a skip, or a question to the interviewer
    (everything said in a stage's closing questions is one)."""
    if skipped:
        return "skip"
    if in_questions or asking.recognise(text) is not None:
        return "candidate_question"
    return "answer"


def asked_questions(turns: list[store.Turn]) -> set[str]:
    """The question ids the interviewer put to the candidate (not a stage's closing invitation)."""
    return {t.question_id for t in turns if t.role == "interviewer" and t.question_id and t.phase != INVITE}


def graded(kind: str, phase: str | None) -> bool:
    """Answers are graded; the candidate's questions only where asking them is the point (the stage's
    closing questions), and there only on asking good questions (the invite's rubric)."""
    return kind == "answer" or (kind == "candidate_question" and phase == INVITE)


def answer_so_far(turns: list[store.Turn], answer: store.Turn, *, clarifying: bool = False) -> str:
    """Everything the candidate said to this question (and phase) up to this answer; in a clarifying
    phase their questions count too: asking for the requirements is covering them."""
    kinds = {"answer", "candidate_question"} if clarifying else {"answer"}
    return "\n".join(
        t.text for t in turns
        if t.role == "candidate" and t.kind in kinds and t.question_id == answer.question_id
        and getattr(t, "phase", None) == answer.phase and t.seq <= answer.seq
    )


def _log_event(message: str, **fields) -> None:
    """One structured line; the request id (see coach.observability) ties a turn's lines together."""
    log.info(message, extra={"fields": fields})


def stage_deadline_iso(session: store.InterviewSession) -> str | None:
    from coach.engine import stage_deadline

    deadline: datetime | None = stage_deadline(
        SessionPlan.model_validate(session.plan), Cursor.model_validate(session.cursor)
    )
    return deadline.isoformat() if deadline else None
