"""Storage: the SQLModel tables and the functions that read and write them.

Nothing outside this module writes SQL. Functions take the database connection as a keyword
argument and never commit, so a caller decides the transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import weakref
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta

from sqlalchemy import JSON, Column, DateTime, Text, UniqueConstraint, bindparam, event, func, insert, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import configure_mappers
from sqlmodel import Field, Session, SQLModel, create_engine, delete, select


def utcnow() -> datetime:
    return datetime.now(UTC)


class InterviewSession(SQLModel, table=True):
    __tablename__ = "sessions"

    id: str = Field(primary_key=True)
    token_hash: str
    track: str
    seniority: str
    mode: str
    seed: int
    plan: dict = Field(sa_column=Column(JSON, nullable=False))
    cursor: dict = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="active", index=True)
    version: int = 0  # bumped on every step; a stale writer fails instead of skipping a question
    reviewed: bool = False
    # What the candidate pasted to tailor the practice: kept with the session, sent only to the configured LLM.
    job_description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    cv_summary: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # A drill (one question or stage retried) points at the session it retries; drills of a drill
    # point at the same original, so one session's attempts are its drills.
    drill_of: str | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class Turn(SQLModel, table=True):
    __tablename__ = "turns"
    __table_args__ = (
        UniqueConstraint("session_id", "seq", name="uq_turn_seq"),
        UniqueConstraint("session_id", "idempotency_key", name="uq_turn_idempotency"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(foreign_key="sessions.id", index=True)
    seq: int
    role: str  # interviewer | candidate
    # interviewer: question | follow_up | phase | nudge | answer_question | invite_questions | close
    # candidate: answer | skip | candidate_question (a question to the interviewer, never graded as an answer)
    kind: str
    stage: str | None = None
    question_id: str | None = None
    phase: str | None = None  # in a phased stage, the phase; "candidate_questions" in a stage's closing questions
    text: str = Field(sa_column=Column(Text, nullable=False))
    offline: bool = False  # an interviewer turn written without the LLM
    idempotency_key: str | None = None
    # A coding answer's code, language and latest run (the run is the candidate's claim): see coach.coderun
    code: dict | None = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))
    created_at: datetime = Field(default_factory=utcnow)


class GradeRecord(SQLModel, table=True):
    __tablename__ = "grades"

    id: int | None = Field(default=None, primary_key=True)
    turn_id: int = Field(foreign_key="turns.id", unique=True)
    session_id: str = Field(foreign_key="sessions.id", index=True)
    stage: str
    question_id: str | None = None
    phase: str | None = None  # the graded turn's phase: a phased stage is graded phase by phase
    question_text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", index=True)  # pending | running | done | failed
    overall: float | None = None
    criteria: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    mistakes: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    flags: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    missed_points: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tip: str = ""
    scorer: str | None = None
    model: str | None = None
    rubric_version: str | None = None
    prompt_version: str | None = None
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    retries: int = 0
    fallback_reason: str | None = None
    attempts: int = 0
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    lease_until: datetime | None = None  # the claim holds until then; its worker renews it while grading
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RateCounter(SQLModel, table=True):
    """Requests per client key in one fixed window: shared by every worker through the database."""

    __tablename__ = "rate_counters"

    key: str = Field(primary_key=True)
    window_start: int = Field(primary_key=True)  # unix seconds
    hits: int = 0


configure_mappers()  # rows built with `model_construct` below need the mapped attributes ready
SESSIONS = InterviewSession.__table__
TURNS = Turn.__table__
GRADES = GradeRecord.__table__


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20, max_overflow=60
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=20)


_WRITERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def write_lock(engine: Engine) -> AbstractContextManager:
    """Held around a write transaction, from its first write to its commit.

    SQLite admits one writer at a time and makes the others poll with growing sleeps (up to
    100 ms each), which under load turned into second-long stalls; the threads of one process
    queue on this lock instead. It orders work and guards no data: across processes SQLite's own
    lock still decides, and on PostgreSQL (row locks) it is a no-op."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    lock = _WRITERS.get(engine)
    if lock is None:
        lock = _WRITERS.setdefault(engine, threading.Lock())
    return lock


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- sessions, turns and grades: Core statements on a Connection, rows built without validation ---
#
# The one read path for them: each function is one statement on a Connection the caller commits
# (an ORM Session's own is `db.connection()`), and returns table models filled from values the
# database (or this function) already typed, with `model_construct` (SQLModel validation of every
# row costs more than the statement).


_SESSION_BY_ID = select(SESSIONS).where(SESSIONS.c.id == bindparam("b_id"))
_SENIORITY = select(SESSIONS.c.seniority).where(SESSIONS.c.id == bindparam("b_id"))
_MOVE_SESSION = update(SESSIONS).where(SESSIONS.c.id == bindparam("b_id"), SESSIONS.c.version == bindparam("b_version"))
_TURNS_OF = select(TURNS).where(TURNS.c.session_id == bindparam("b_session")).order_by(TURNS.c.seq)
_LAST_SEQ = select(func.max(TURNS.c.seq)).where(TURNS.c.session_id == bindparam("b_session"))
_GRADE_BY_ID = select(GRADES).where(GRADES.c.id == bindparam("b_id"))
_GRADES_OF = select(GRADES).where(GRADES.c.session_id == bindparam("b_session")).order_by(GRADES.c.id)
# Nobody works on it: pending, or running on a lease that ran out (its worker died) or never was (an old claim).
_CLAIMABLE = (GRADES.c.status == "pending") | (
    (GRADES.c.status == "running")
    & (GRADES.c.lease_until.is_(None) | (GRADES.c.lease_until < bindparam("b_now", type_=DateTime)))
)
_CLAIM = (
    update(GRADES)
    .where(GRADES.c.id == bindparam("b_id"), _CLAIMABLE)
    .values(status="running", claimed_by=bindparam("b_worker"), claimed_at=bindparam("b_now", type_=DateTime),
            lease_until=bindparam("b_lease_until", type_=DateTime), attempts=GRADES.c.attempts + 1)
    .returning(*GRADES.c)
)
_HELD_BY_WORKER = (GRADES.c.id == bindparam("b_id"), GRADES.c.status == "running",
                   GRADES.c.claimed_by == bindparam("b_worker"))
_RENEW_LEASE = update(GRADES).where(*_HELD_BY_WORKER).values(lease_until=bindparam("b_lease_until", type_=DateTime))
_STORE_GRADE = update(GRADES).where(*_HELD_BY_WORKER)
_GRADED_TURN = TURNS.alias("graded")
_ANSWER_TEXTS = (
    select(TURNS.c.text)
    .where(
        TURNS.c.session_id == bindparam("b_session"), TURNS.c.role == "candidate",
        # Of the graded turn's kind (answers with answers, the candidate's questions with theirs) and phase.
        TURNS.c.kind == select(_GRADED_TURN.c.kind).where(_GRADED_TURN.c.id == bindparam("b_turn")).scalar_subquery(),
        func.coalesce(TURNS.c.phase, "") == select(func.coalesce(_GRADED_TURN.c.phase, "")).where(
            _GRADED_TURN.c.id == bindparam("b_turn")).scalar_subquery(),
        TURNS.c.seq <= select(TURNS.c.seq).where(TURNS.c.id == bindparam("b_turn")).scalar_subquery(),
    )
    .order_by(TURNS.c.seq)
)
_PENDING_GRADE = {
    "status": "pending", "overall": None, "tip": "", "scorer": None, "model": None, "rubric_version": None,
    "prompt_version": None, "latency_ms": None, "prompt_tokens": None, "completion_tokens": None, "retries": 0,
    "fallback_reason": None, "attempts": 0, "claimed_by": None, "claimed_at": None, "lease_until": None,
}


def read_session(*, db: Connection, session_id: str) -> InterviewSession | None:
    row = db.execute(_SESSION_BY_ID, {"b_id": session_id}).first()
    return None if row is None else InterviewSession.model_construct(**row._mapping)


def read_session_for_token(*, db: Connection, session_id: str, token: str | None) -> InterviewSession | None:
    """The session if the token is its own; None otherwise, so a wrong token looks like no session."""
    session = read_session(db=db, session_id=session_id)
    if session is None or not token or not hmac.compare_digest(session.token_hash, hash_token(token)):
        return None
    return session


def insert_session(*, db: Connection, **values) -> InterviewSession:
    now = utcnow()
    row = {"status": "active", "version": 0, "reviewed": False, "created_at": now, "updated_at": now,
           "finished_at": None, "job_description": "", "cv_summary": "", "drill_of": None, **values}
    db.execute(insert(SESSIONS), row)
    return InterviewSession.model_construct(**row)


def move_session(*, db: Connection, session: InterviewSession, cursor: dict) -> InterviewSession | None:
    """Store the session's new cursor if nobody moved it since `session` was read; None if someone did."""
    now = utcnow()
    values = {
        "cursor": cursor, "status": cursor["status"], "version": session.version + 1, "updated_at": now,
        "finished_at": now if cursor["status"] != "active" else None,
    }
    moved = db.execute(_MOVE_SESSION, {"b_id": session.id, "b_version": session.version, **values})
    if moved.rowcount != 1:
        return None
    return InterviewSession.model_construct(**{**session.model_dump(), **values})


def read_turns(*, db: Connection, session_id: str) -> list[Turn]:
    return [Turn.model_construct(**row._mapping) for row in db.execute(_TURNS_OF, {"b_session": session_id})]


def insert_turn(*, db: Connection, session_id: str, seq: int | None = None, **fields) -> Turn:
    """Add a turn at `seq` (default: after the last); the unique (session_id, seq) refuses a taken one."""
    if seq is None:
        last = db.execute(_LAST_SEQ, {"b_session": session_id}).scalar()
        seq = 0 if last is None else last + 1
    row = {"stage": None, "question_id": None, "phase": None, "offline": False, "idempotency_key": None, "code": None,
           **fields,
           "session_id": session_id, "seq": seq, "created_at": utcnow()}
    result = db.execute(insert(TURNS), row)
    return Turn.model_construct(id=result.inserted_primary_key[0], **row)


def insert_pending_grade(*, db: Connection, turn: Turn, question_text: str) -> GradeRecord:
    now = utcnow()
    row = {
        **_PENDING_GRADE, "turn_id": turn.id, "session_id": turn.session_id, "stage": turn.stage,
        "question_id": turn.question_id, "phase": getattr(turn, "phase", None), "question_text": question_text,
        "criteria": [], "mistakes": [],
        "flags": [], "missed_points": [], "created_at": now, "updated_at": now,
    }
    result = db.execute(insert(GRADES), row)
    return GradeRecord.model_construct(id=result.inserted_primary_key[0], **row)


def read_grade(*, db: Connection, grade_id: int) -> GradeRecord | None:
    row = db.execute(_GRADE_BY_ID, {"b_id": grade_id}).first()
    return None if row is None else GradeRecord.model_construct(**row._mapping)


def read_grades(*, db: Connection, session_id: str) -> list[GradeRecord]:
    return [GradeRecord.model_construct(**row._mapping) for row in db.execute(_GRADES_OF, {"b_session": session_id})]


def claim(*, db: Connection, grade_id: int, worker: str, lease: timedelta) -> GradeRecord | None:
    """Take a grade to work on for `lease` (renewable), unless a live lease holds it: one conditional UPDATE.

    Two workers racing for it both run the UPDATE; the database lets one change the row and the
    other re-checks the condition against the changed row (PostgreSQL re-evaluates WHERE after the
    row lock, SQLite serialises writers), so exactly one gets it back."""
    now = utcnow()
    params = {"b_id": grade_id, "b_worker": worker, "b_now": now, "b_lease_until": now + lease}
    row = db.execute(_CLAIM, params).first()
    return None if row is None else GradeRecord.model_construct(**row._mapping)


def renew_leases(*, db: Connection, claims: dict[int, str], lease: timedelta) -> None:
    """Extend the leases of these grades (id -> the worker holding it) that their workers still hold."""
    if claims:
        lease_until = utcnow() + lease
        db.execute(_RENEW_LEASE, [{"b_id": i, "b_worker": w, "b_lease_until": lease_until} for i, w in claims.items()])


def answer_texts(*, db: Connection, record: GradeRecord) -> list[str]:
    """The answers to the graded answer's question, up to and including it (follow-ups add to it)."""
    query = _ANSWER_TEXTS.where(TURNS.c.question_id == record.question_id) if record.question_id is None else (
        _ANSWER_TEXTS.where(TURNS.c.question_id == bindparam("b_question"))
    )
    params = {"b_session": record.session_id, "b_turn": record.turn_id, "b_question": record.question_id}
    return list(db.execute(query, params).scalars())


def read_code(*, db: Connection, record: GradeRecord) -> dict | None:
    """The latest code (with its claimed run) sent for the graded answer's question, up to that answer:
    a follow-up answered in words is still graded with the code sent before it."""
    query = (
        select(TURNS.c.code)
        .where(
            TURNS.c.session_id == record.session_id, TURNS.c.question_id == record.question_id,
            TURNS.c.code.is_not(None),
            TURNS.c.seq <= select(TURNS.c.seq).where(TURNS.c.id == record.turn_id).scalar_subquery(),
        )
        .order_by(TURNS.c.seq.desc())
        .limit(1)
    )
    return db.execute(query).scalar()


def read_seniority(*, db: Connection, session_id: str) -> str | None:
    return db.execute(_SENIORITY, {"b_id": session_id}).scalar()


def store_grade(*, db: Connection, record: GradeRecord, grade: dict) -> GradeRecord | None:
    """Store a finished grade if `record`'s worker still holds the claim; None if another worker took it over."""
    values = {**grade, "status": "done", "updated_at": utcnow()}
    saved = db.execute(_STORE_GRADE, {"b_id": record.id, "b_worker": record.claimed_by, **values})
    if saved.rowcount != 1:
        return None
    return GradeRecord.model_construct(**{**record.model_dump(), **values})


def read_drills(*, db: Connection, session_id: str) -> list[InterviewSession]:
    """The drills of a session, oldest first."""
    query = select(SESSIONS).where(SESSIONS.c.drill_of == session_id).order_by(SESSIONS.c.created_at, SESSIONS.c.id)
    return [InterviewSession.model_construct(**row._mapping) for row in db.execute(query)]


# --- the grade queue ------------------------------------------------------------------------


def claimable_grade_ids(*, db: Connection, limit: int = 5) -> list[int]:
    """The oldest grades nobody is working on (or whose worker died): candidates for `claim`."""
    query = select(GRADES.c.id).where(_CLAIMABLE).order_by(GRADES.c.id).limit(limit)
    return list(db.execute(query, {"b_now": utcnow()}).scalars())


def count_waiting_grades(*, db: Connection) -> int:
    """Grades not done yet: pending, or being graded."""
    return db.execute(select(func.count()).select_from(GRADES).where(GRADES.c.status.in_(("pending", "running")))).scalar_one()


def release_grade(*, db: Connection, record: GradeRecord) -> None:
    """Give the claim back (status pending) if this worker still holds it."""
    db.execute(
        update(GRADES)
        .where(GRADES.c.id == record.id, GRADES.c.status == "running", GRADES.c.claimed_by == record.claimed_by)
        .values(status="pending", claimed_by=None, lease_until=None)
    )


# --- rate limits ----------------------------------------------------------------------------


def insert_for(db: Connection | Session):
    """The dialect's INSERT, which has ON CONFLICT DO UPDATE (an upsert) on SQLite and PostgreSQL."""
    dialect = db.dialect if isinstance(db, Connection) else db.get_bind().dialect
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    return upsert


def count_hit(*, db: Connection | Session, key: str, window_start: int) -> int:
    """Add one hit to the key's window and return the window's total, atomically (one upsert)."""
    counters = RateCounter.__table__
    statement = insert_for(db)(counters).values(key=key, window_start=window_start, hits=1)
    statement = statement.on_conflict_do_update(
        index_elements=["key", "window_start"], set_={"hits": counters.c.hits + 1}
    ).returning(counters.c.hits)
    hits = db.execute(statement).scalar_one()
    if hits == 1:  # a new window: forget windows older than an hour
        db.execute(delete(counters).where(counters.c.window_start < window_start - 3600))
    return hits
