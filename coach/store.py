"""Storage: the SQLModel tables and the functions that read and write them.

Nothing outside this module writes SQL. Functions take the database session as a keyword
argument so a caller decides the transaction.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint, event, func
from sqlalchemy.engine import Engine
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
    kind: str  # question | follow_up | close | answer | skip
    stage: str | None = None
    question_id: str | None = None
    text: str = Field(sa_column=Column(Text, nullable=False))
    offline: bool = False  # an interviewer turn written without the LLM
    idempotency_key: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class GradeRecord(SQLModel, table=True):
    __tablename__ = "grades"

    id: int | None = Field(default=None, primary_key=True)
    turn_id: int = Field(foreign_key="turns.id", unique=True)
    session_id: str = Field(foreign_key="sessions.id", index=True)
    stage: str
    question_id: str | None = None
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
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RateCounter(SQLModel, table=True):
    """Requests per client key in one fixed window: shared by every worker through the database."""

    __tablename__ = "rate_counters"

    key: str = Field(primary_key=True)
    window_start: int = Field(primary_key=True)  # unix seconds
    hits: int = 0


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20, max_overflow=60
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=20)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- sessions -------------------------------------------------------------------------------


def create_session(*, db: Session, session: InterviewSession) -> InterviewSession:
    db.add(session)
    db.flush()
    return session


def get_session(*, db: Session, session_id: str) -> InterviewSession | None:
    return db.get(InterviewSession, session_id)


def get_session_for_token(*, db: Session, session_id: str, token: str | None) -> InterviewSession | None:
    """The session if the token is its own; None otherwise, so a wrong token looks like no session."""
    session = db.get(InterviewSession, session_id)
    if session is None or not token or not hmac.compare_digest(session.token_hash, hash_token(token)):
        return None
    return session


# --- turns ----------------------------------------------------------------------------------


def next_seq(*, db: Session, session_id: str) -> int:
    last = db.exec(select(Turn.seq).where(Turn.session_id == session_id).order_by(Turn.seq.desc())).first()
    return 0 if last is None else last + 1


def add_turn(*, db: Session, session_id: str, **fields) -> Turn:
    turn = Turn(session_id=session_id, seq=next_seq(db=db, session_id=session_id), **fields)
    db.add(turn)
    db.flush()
    return turn


def list_turns(*, db: Session, session_id: str) -> list[Turn]:
    return list(db.exec(select(Turn).where(Turn.session_id == session_id).order_by(Turn.seq)))


def find_turn_by_idempotency_key(*, db: Session, session_id: str, key: str) -> Turn | None:
    return db.exec(select(Turn).where(Turn.session_id == session_id, Turn.idempotency_key == key)).first()


def answers_to_question(*, db: Session, session_id: str, question_id: str | None, up_to_seq: int) -> list[Turn]:
    query = select(Turn).where(
        Turn.session_id == session_id,
        Turn.role == "candidate",
        Turn.kind == "answer",
        Turn.question_id == question_id,
        Turn.seq <= up_to_seq,
    )
    return list(db.exec(query.order_by(Turn.seq)))


# --- grades ---------------------------------------------------------------------------------


def add_pending_grade(*, db: Session, turn: Turn, question_text: str) -> GradeRecord:
    record = GradeRecord(
        turn_id=turn.id,
        session_id=turn.session_id,
        stage=turn.stage,
        question_id=turn.question_id,
        question_text=question_text,
    )
    db.add(record)
    db.flush()
    return record


def list_grades(*, db: Session, session_id: str) -> list[GradeRecord]:
    return list(db.exec(select(GradeRecord).where(GradeRecord.session_id == session_id).order_by(GradeRecord.id)))


def get_grade(*, db: Session, grade_id: int) -> GradeRecord | None:
    return db.get(GradeRecord, grade_id)


def claim_grade(*, db: Session, grade_id: int, worker: str, stale_before: datetime) -> GradeRecord | None:
    """Take a grade to work on, unless another live worker holds it."""
    query = select(GradeRecord).where(GradeRecord.id == grade_id).with_for_update(skip_locked=True)
    record = db.exec(query).first()
    if record is None or not _claimable(record, stale_before):
        return None
    _mark_claimed(record, worker)
    db.add(record)
    db.commit()
    return record


def claim_next_pending(*, db: Session, worker: str, stale_before: datetime) -> GradeRecord | None:
    """The oldest grade nobody is working on (or whose worker died), claimed for `worker`."""
    query = (
        select(GradeRecord)
        .where(
            (GradeRecord.status == "pending")
            | ((GradeRecord.status == "running") & (GradeRecord.claimed_at < stale_before))
        )
        .order_by(GradeRecord.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    record = db.exec(query).first()
    if record is None:
        return None
    _mark_claimed(record, worker)
    db.add(record)
    db.commit()
    return record


def _claimable(record: GradeRecord, stale_before: datetime) -> bool:
    return record.status == "pending" or (
        record.status == "running" and record.claimed_at is not None and record.claimed_at < stale_before
    )


def _mark_claimed(record: GradeRecord, worker: str) -> None:
    record.status = "running"
    record.claimed_by = worker
    record.claimed_at = utcnow()
    record.attempts += 1


def count_grades(*, db: Session, status: str) -> int:
    return db.exec(select(func.count()).select_from(GradeRecord).where(GradeRecord.status == status)).one()


def save_grade(*, db: Session, grade_id: int, worker: str | None, grade: dict) -> GradeRecord | None:
    """Store a finished grade if `worker` still holds the claim; None if another worker took it over."""
    record = db.exec(select(GradeRecord).where(GradeRecord.id == grade_id).with_for_update()).first()
    if record is None or record.status != "running" or record.claimed_by != worker:
        return None
    for key, value in grade.items():
        setattr(record, key, value)
    record.status = "done"
    record.updated_at = utcnow()
    db.add(record)
    return record


def release_grade(*, db: Session, grade_id: int, worker: str | None) -> None:
    record = db.exec(select(GradeRecord).where(GradeRecord.id == grade_id).with_for_update()).first()
    if record is not None and record.status == "running" and record.claimed_by == worker:
        record.status = "pending"
        record.claimed_by = None
        db.add(record)


# --- rate limits ----------------------------------------------------------------------------


def count_hit(*, db: Session, key: str, window_start: int) -> int:
    """Add one hit to the key's window and return the window's total, atomically."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(RateCounter).values(key=key, window_start=window_start, hits=1)
    statement = statement.on_conflict_do_update(
        index_elements=["key", "window_start"], set_={"hits": RateCounter.hits + 1}
    ).returning(RateCounter.hits)
    hits = db.exec(statement).scalar_one()
    if hits == 1:  # a new window: forget windows older than an hour
        db.exec(delete(RateCounter).where(RateCounter.window_start < window_start - 3600))
    db.commit()
    return hits
