"""What is stored about one session, read together: the one read path every presenter starts from."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from coach import review_store, store
from coach.review_store import Override, ReviewComment


@dataclass(frozen=True)
class SessionRecords:
    session: store.InterviewSession
    turns: list[store.Turn]
    grades: list[store.GradeRecord]
    overrides: list[Override] = field(default_factory=list)
    comments: list[ReviewComment] = field(default_factory=list)

    def grade_by_turn(self) -> dict[int, store.GradeRecord]:
        return {g.turn_id: g for g in self.grades}

    def overrides_by_grade(self) -> dict[int, list[Override]]:
        return review_store.overrides_by_grade(self.overrides)


def read_records(db: Connection, session: store.InterviewSession, *, comments: bool = False) -> SessionRecords:
    """The session's turns, grades and overrides (and the reviewers' comments when asked for)."""
    return SessionRecords(
        session=session,
        turns=store.read_turns(db=db, session_id=session.id),
        grades=store.read_grades(db=db, session_id=session.id),
        overrides=review_store.read_overrides(db=db, session_id=session.id),
        comments=review_store.read_comments(db=db, session_id=session.id) if comments else [],
    )
