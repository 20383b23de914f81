"""Storage for the reviewer's workspace: accounts, tokens, logins, overrides, comments, login throttle.

The machine's grades in `grades` are never changed here: an override is a new row that keeps the
machine's score beside the reviewer's, so the table is also the audit trail. How overrides count
is `coach.report.effective_scores`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from sqlalchemy import Column, Text, case, delete, literal
from sqlalchemy.engine import Connection
from sqlmodel import Field, Session, SQLModel, select

from coach import store
from coach.store import GradeRecord, InterviewSession, Turn, utcnow

# --- tables ---------------------------------------------------------------------------------


class Reviewer(SQLModel, table=True):
    __tablename__ = "reviewers"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, unique=True, max_length=320)
    password_hash: str
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None


class ReviewerToken(SQLModel, table=True):
    __tablename__ = "reviewer_tokens"

    id: int | None = Field(default=None, primary_key=True)
    reviewer_id: int = Field(foreign_key="reviewers.id", index=True)
    token_hash: str = Field(index=True, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None


class Override(SQLModel, table=True):
    __tablename__ = "overrides"

    id: int | None = Field(default=None, primary_key=True)
    grade_id: int = Field(foreign_key="grades.id", index=True)
    session_id: str = Field(foreign_key="sessions.id", index=True)
    criterion: str | None = None  # None: the overall score
    machine_score: float | None = None  # what the grader gave, kept beside the reviewer's score
    score: float
    comment: str = Field(sa_column=Column(Text, nullable=False))
    reviewer: str  # the reviewer's email, kept as text so the trail outlives the account
    created_at: datetime = Field(default_factory=utcnow)


class ReviewComment(SQLModel, table=True):
    __tablename__ = "comments"

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(foreign_key="sessions.id", index=True)
    turn_id: int = Field(foreign_key="turns.id", index=True)
    grade_id: int | None = Field(default=None, foreign_key="grades.id")
    reviewer: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class ReviewerLogin(SQLModel, table=True):
    """One browser's login: its cookie holds a random secret, this row the secret's hash. Logging
    out or removing the account deletes the row, and no later account can ever match it."""

    __tablename__ = "reviewer_logins"

    id: int | None = Field(default=None, primary_key=True)
    reviewer_id: int = Field(foreign_key="reviewers.id", index=True)
    secret_hash: str = Field(index=True, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class LoginThrottle(SQLModel, table=True):
    """Login attempts per email and client since `window_start`, one row each, counted by an upsert."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True)  # a hash of email + client, never the raw email
    window_start: datetime = Field(index=True)
    attempts: int


# --- reviewers and tokens -------------------------------------------------------------------


def get_reviewer_by_email(*, db: Session, email: str) -> Reviewer | None:
    return db.exec(select(Reviewer).where(Reviewer.email == email)).first()


def list_reviewers(*, db: Session) -> list[Reviewer]:
    return list(db.exec(select(Reviewer).order_by(Reviewer.email)))


def delete_reviewer(*, db: Session, reviewer: Reviewer) -> None:
    db.execute(delete(ReviewerToken).where(ReviewerToken.reviewer_id == reviewer.id))
    db.execute(delete(ReviewerLogin).where(ReviewerLogin.reviewer_id == reviewer.id))
    db.delete(reviewer)


def reviewer_for_token_hash(*, db: Session, token_hash: str) -> Reviewer | None:
    query = select(Reviewer).join(ReviewerToken, ReviewerToken.reviewer_id == Reviewer.id)
    return db.exec(query.where(ReviewerToken.token_hash == token_hash)).first()


# --- logins and the login throttle -----------------------------------------------------------


def reviewer_for_login_hash(*, db: Session, secret_hash: str, now: datetime) -> Reviewer | None:
    query = select(Reviewer).join(ReviewerLogin, ReviewerLogin.reviewer_id == Reviewer.id)
    return db.exec(query.where(ReviewerLogin.secret_hash == secret_hash, ReviewerLogin.expires_at > now)).first()


def delete_login(*, db: Session, secret_hash: str) -> None:
    db.execute(delete(ReviewerLogin).where(ReviewerLogin.secret_hash == secret_hash))


def prune_logins(*, db: Session, now: datetime) -> None:
    db.execute(delete(ReviewerLogin).where(ReviewerLogin.expires_at <= now))


def count_login_attempt(*, db: Session, key: str, now: datetime, window: timedelta) -> int:
    """Count one attempt and return the attempts in the key's window, this one included, in one
    statement: concurrent attempts queue on the row, so each sees all those before it. A window
    older than `window` starts over."""
    throttle = LoginThrottle.__table__
    expired = throttle.c.window_start < now - window
    started = literal(now, throttle.c.window_start.type)
    statement = store.insert_for(db)(throttle).values(key=key, window_start=now, attempts=1)
    statement = statement.on_conflict_do_update(
        index_elements=["key"],
        set_={"attempts": case((expired, 1), else_=throttle.c.attempts + 1),
              "window_start": case((expired, started), else_=throttle.c.window_start)},
    ).returning(throttle.c.attempts)
    attempts = db.execute(statement).scalar_one()
    if attempts == 1:  # a new window: forget the windows that have aged out
        db.execute(delete(throttle).where(expired))
    return attempts


def clear_login_attempts(*, db: Session, key: str) -> None:
    db.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


# --- overrides, comments, reviewed ----------------------------------------------------------


class OverrideRefused(ValueError):
    """An override that cannot apply: a grade not done, an unknown criterion, a bad score."""


def machine_score(grade: GradeRecord, criterion: str | None) -> float | None:
    if criterion is None:
        return grade.overall
    for item in grade.criteria:
        if item.get("id") == criterion:
            return item.get("score")
    raise OverrideRefused(f"grade {grade.id} has no criterion {criterion!r}")


def add_override(
    *, db: Session, grade: GradeRecord, criterion: str | None, score: float, comment: str, reviewer: str
) -> Override:
    if grade.status != "done":
        raise OverrideRefused("only a finished grade can be overridden")
    if not 1 <= score <= 5 or (criterion is not None and score != int(score)):
        raise OverrideRefused("a score is 1 to 5 (whole numbers for a criterion)")
    if not comment.strip():
        raise OverrideRefused("an override needs a comment saying why")
    override = Override(
        grade_id=grade.id, session_id=grade.session_id, criterion=criterion,
        machine_score=machine_score(grade, criterion), score=score, comment=comment.strip(), reviewer=reviewer,
    )
    db.add(override)
    db.flush()
    return override


def list_overrides(*, db: Session) -> list[Override]:
    """Every override, oldest first: for the analytics across sessions."""
    return list(db.exec(select(Override).order_by(Override.id)))


def add_comment(*, db: Session, turn: Turn, grade_id: int | None, reviewer: str, text: str) -> ReviewComment:
    if not text.strip():
        raise ValueError("a comment cannot be empty")
    comment = ReviewComment(
        session_id=turn.session_id, turn_id=turn.id, grade_id=grade_id, reviewer=reviewer, text=text.strip()
    )
    db.add(comment)
    db.flush()
    return comment


def read_overrides(*, db: Connection, session_id: str) -> list[Override]:
    """A session's overrides, oldest first (on a Connection, as the session's other records are read)."""
    table = Override.__table__
    query = select(table).where(table.c.session_id == session_id).order_by(table.c.id)
    return [Override.model_construct(**row._mapping) for row in db.execute(query)]


def read_comments(*, db: Connection, session_id: str) -> list[ReviewComment]:
    table = ReviewComment.__table__
    query = select(table).where(table.c.session_id == session_id).order_by(table.c.id)
    return [ReviewComment.model_construct(**row._mapping) for row in db.execute(query)]


def set_reviewed(*, db: Session, session_id: str, reviewed: bool) -> bool:
    """Mark the session reviewed (or not); False if there is no such session."""
    session = db.get(InterviewSession, session_id)
    if session is None:
        return False
    session.reviewed = reviewed
    db.add(session)
    return True


def grade_for_turn(*, db: Session, turn_id: int) -> GradeRecord | None:
    return db.exec(select(GradeRecord).where(GradeRecord.turn_id == turn_id)).first()


# --- the session list -----------------------------------------------------------------------


def matching_sessions(*, db: Session, filters) -> list[InterviewSession]:
    """The sessions the reviewer's filters select, except the score range (the overall is computed
    by `coach.report.session_overall`, not in SQL). `filters`: `coach.api.schemas.SessionFilters`."""
    return list(db.exec(_filtered(select(InterviewSession), filters)))


def score_inputs(*, db: Session, filters) -> tuple[list[Turn], list[GradeRecord], list[Override]]:
    """What the overall of every matching session is computed from: the candidate's turns (without
    their text), the grades and the overrides, three queries for the whole list."""
    ids = _filtered(select(InterviewSession.id), filters)
    columns = (Turn.id, Turn.session_id, Turn.seq, Turn.role, Turn.kind, Turn.stage, Turn.question_id)
    turns = db.exec(select(*columns).where(Turn.role == "candidate", Turn.session_id.in_(ids)).order_by(Turn.seq))
    grades = db.exec(select(GradeRecord).where(GradeRecord.session_id.in_(ids)).order_by(GradeRecord.id))
    overrides = db.exec(select(Override).where(Override.session_id.in_(ids)).order_by(Override.id))
    return [Turn.model_construct(**row._mapping, text="") for row in turns], list(grades), list(overrides)


def _filtered(query, filters):
    if filters.seniority:
        query = query.where(InterviewSession.seniority == filters.seniority)
    if filters.stage:
        query = query.where(InterviewSession.id.in_(select(Turn.session_id).where(Turn.stage == filters.stage)))
    if filters.scorer:
        scored = select(GradeRecord.session_id).where(GradeRecord.scorer == filters.scorer)
        query = query.where(InterviewSession.id.in_(scored))
    if filters.date_from:
        query = query.where(InterviewSession.created_at >= _day_start(filters.date_from))
    if filters.date_to:
        query = query.where(InterviewSession.created_at < _day_start(filters.date_to) + timedelta(days=1))
    if filters.reviewed is not None:
        query = query.where(InterviewSession.reviewed == filters.reviewed)
    return query


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=utcnow().tzinfo)


def filter_choices(*, db: Session) -> dict[str, list[str]]:
    """The values the filter drop-downs offer: what the data holds."""
    return {
        "seniority": sorted(db.exec(select(InterviewSession.seniority).distinct())),
        "stage": sorted(s for s in db.exec(select(GradeRecord.stage).distinct()) if s),
        "scorer": sorted(s for s in db.exec(select(GradeRecord.scorer).distinct()) if s),
    }


# --- one session, for reading and exporting -------------------------------------------------


ExportBatch = tuple[list[InterviewSession], list[Turn], list[GradeRecord], list[Override]]


def export_batches(engine, *, size: int = 100) -> Iterator[ExportBatch]:
    """Every session in id order, `size` at a time, each batch with its candidate turns, grades and
    overrides: the whole table is never held at once, and no connection is held between batches."""
    last = ""
    while True:
        with Session(engine) as db:
            query = select(InterviewSession).where(InterviewSession.id > last).order_by(InterviewSession.id)
            sessions = list(db.exec(query.limit(size)))
            if not sessions:
                return
            ids = [s.id for s in sessions]
            turns = db.exec(select(Turn).where(Turn.session_id.in_(ids), Turn.role == "candidate").order_by(Turn.seq))
            grades = db.exec(select(GradeRecord).where(GradeRecord.session_id.in_(ids)).order_by(GradeRecord.id))
            overrides = db.exec(select(Override).where(Override.session_id.in_(ids)).order_by(Override.id))
            batch = (sessions, list(turns), list(grades), list(overrides))
        yield batch
        last = ids[-1]


def all_done_grades(*, db: Session) -> list[GradeRecord]:
    query = select(GradeRecord).where(GradeRecord.status == "done").order_by(GradeRecord.session_id, GradeRecord.id)
    return list(db.exec(query))


def overrides_by_grade(overrides: list[Override]) -> dict[int, list[Override]]:
    grouped: dict[int, list[Override]] = defaultdict(list)
    for override in overrides:
        grouped[override.grade_id].append(override)
    return grouped


def reviewed_session_ids(*, db: Session) -> set[str]:
    return set(db.exec(select(InterviewSession.id).where(InterviewSession.reviewed == True)))  # noqa: E712


# --- calibration and insights ---------------------------------------------------------------


def review_labels(*, db: Session) -> list[dict]:
    """Rows for `coach.evaluation.agreement`: the reviewers' overall score as the label, the machine's as the score.

    An answer counts when a reviewer overrode its overall score, or when its session is marked
    reviewed and nobody changed the overall score: the reviewer accepted the machine's.
    """
    overrides = overrides_by_grade([o for o in list_overrides(db=db) if o.criterion is None])
    reviewed = reviewed_session_ids(db=db)
    rows = []
    for grade in all_done_grades(db=db):
        if grade.overall is None or (grade.id not in overrides and grade.session_id not in reviewed):
            continue
        label = overrides[grade.id][-1].score if grade.id in overrides else grade.overall
        kind = "injection" if "prompt_injection" in (grade.flags or []) else None
        rows.append({
            "stage": grade.stage, "question": grade.question_id, "label": label, "score": grade.overall, "kind": kind,
        })
    return rows
