"""The grade queue: stored answers waiting for a grade, claimed, graded and stored by whoever gets them.

Every grade is claimed through the database (one conditional UPDATE), so of several workers (threads
or processes) exactly one grades an answer. A claim is a lease: its worker renews it while the scorer
works (a heartbeat), so a slow but live grader keeps it and a dead worker's lapses within
COACH_LEASE_SECONDS, when another worker takes it over. No database connection is held while the
scorer works.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy.engine import Connection, Engine

from coach import store
from coach.coderun import RunResult
from coach.config import Settings
from coach.engine import INVITE, PlanError
from coach.formats import phase_rubric
from coach.knowledge import KnowledgeBase
from coach.observability import record_grade
from coach.scoring import Grade, GradingItem, Scorer, fallback_grade
from coach.scoring.offline import OfflineScorer

log = logging.getLogger(__name__)
MAX_GRADE_ATTEMPTS = 3


class GradeQueue:
    def __init__(self, *, db_engine: Engine, kb: KnowledgeBase, scorer: Scorer, settings: Settings):
        self.db_engine = db_engine
        self.kb = kb
        self.scorer = scorer
        self.last_resort = OfflineScorer(kb)  # after the last attempt: every answer ends graded
        self.settings = settings
        self.leases = Leases(db_engine, timedelta(seconds=settings.lease_seconds))
        self._listeners: list[Callable[[], None]] = []

    def on_waiting(self, wake: Callable[[], None]) -> None:
        """Call `wake` whenever a grade is left waiting (the background worker sleeps until then)."""
        self._listeners.append(wake)

    def waiting(self) -> None:
        for wake in self._listeners:
            wake()

    def grade_now(self, grade_id: int, worker: str | None = None) -> store.GradeRecord | None:
        """Claim and grade one stored answer; None if another worker holds it."""
        worker = worker or f"inline:{secrets.token_hex(6)}"  # unique, so a lost claim is noticed
        with self.db_engine.connect() as db:
            record = self._claim(db, grade_id, worker)
            if record is None:
                return None
            item = self._grading_item(db, record)
        return self._grade_claimed(record, item)

    def grade_next(self, worker: str) -> store.GradeRecord | None:
        """Claim the oldest grade nobody holds (or whose worker died) and grade it; None if there is none."""
        with self.db_engine.connect() as db:
            for grade_id in store.claimable_grade_ids(db=db):
                record = self._claim(db, grade_id, worker)
                if record is not None:
                    item = self._grading_item(db, record)
                    break
            else:
                return None
        return self._grade_claimed(record, item)

    def complete(self, session_id: str) -> None:
        """Grade whatever of this session is still waiting, so its report is whole."""
        with self.db_engine.connect() as db:
            waiting = [g.id for g in store.read_grades(db=db, session_id=session_id) if g.status in ("pending", "running")]
        for grade_id in waiting:
            try:
                self.grade_now(grade_id)
            except Exception:  # the report shows it pending; the worker grades it again
                log.exception("grading %s for the report failed", grade_id)

    def _claim(self, db: Connection, grade_id: int, worker: str) -> store.GradeRecord | None:
        with store.write_lock(self.db_engine):
            record = store.claim(db=db, grade_id=grade_id, worker=worker, lease=self.leases.lease)
            db.commit()
        return record

    def _grade_claimed(self, record: store.GradeRecord, item: GradingItem) -> store.GradeRecord:
        try:
            with self.leases.held(record):
                grade = self.scorer.grade(item)  # may wait on the LLM: no connection held meanwhile
        except Exception as exc:
            if record.attempts < MAX_GRADE_ATTEMPTS:
                self._release(record)
                raise
            grade = fallback_grade(self.last_resort, item, f"grader failed: {exc.__class__.__name__}")
        return self._store(record, grade)

    def _store(self, record: store.GradeRecord, grade: Grade) -> store.GradeRecord:
        with self.db_engine.connect() as db, store.write_lock(self.db_engine):
            saved = store.store_grade(db=db, record=record, grade=grade_columns(grade))
            db.commit()
        if saved is not None:
            record_grade(grade)
            log.info("answer graded", extra={"fields": dict(
                session=record.session_id, grade=record.id, scorer=grade.scorer, overall=grade.overall,
                flags=grade.flags, latency_ms=grade.latency_ms, retries=grade.retries)})
        return saved or record

    def _release(self, record: store.GradeRecord) -> None:
        """Give a claim back after an unexpected failure, for another attempt."""
        with self.db_engine.connect() as db, store.write_lock(self.db_engine):
            store.release_grade(db=db, record=record)
            db.commit()

    def _grading_item(self, db: Connection, record: store.GradeRecord) -> GradingItem:
        code = store.read_code(db=db, record=record)
        return grading_item(
            self.kb, stage=record.stage, question_id=record.question_id, question_text=record.question_text,
            answer="\n\n".join(store.answer_texts(db=db, record=record)),
            seniority=store.read_seniority(db=db, session_id=record.session_id),
            phase=record.phase,
            run=RunResult.model_validate({k: v for k, v in code["run"].items() if k != "claimed_by"})
            if code and code.get("run") else None,
        )


class Leases:
    """The grade claims this process holds, renewed by one heartbeat thread while any is held."""

    def __init__(self, db_engine: Engine, lease: timedelta):
        self.db_engine = db_engine
        self.lease = lease
        self._claims: dict[int, str] = {}  # grade id -> the worker that claimed it
        self._lock = threading.Lock()
        self._heartbeat: threading.Thread | None = None

    @contextmanager
    def held(self, record: store.GradeRecord) -> Iterator[None]:
        """Keep `record`'s lease renewed for as long as the block runs."""
        assert record.id is not None and record.claimed_by is not None  # a claimed grade
        with self._lock:
            self._claims[record.id] = record.claimed_by
            if self._heartbeat is None:
                self._heartbeat = threading.Thread(target=self._beat, name="grade-leases", daemon=True)
                self._heartbeat.start()
        try:
            yield
        finally:
            with self._lock:
                self._claims.pop(record.id, None)

    def _beat(self) -> None:
        interval = self.lease.total_seconds() / 3  # two renewals may fail before a live lease lapses
        while True:
            time.sleep(interval)
            with self._lock:
                claims = dict(self._claims)
                if not claims:
                    self._heartbeat = None  # the next claim starts a new heartbeat
                    return
            try:
                self._renew(claims)
            except Exception:  # the database is away for a moment: the next beat tries again
                log.exception("renewing grade leases failed")

    def _renew(self, claims: dict[int, str]) -> None:
        with self.db_engine.connect() as db, store.write_lock(self.db_engine):
            store.renew_leases(db=db, claims=claims, lease=self.lease)
            db.commit()


def grading_item(
    kb: KnowledgeBase, *, stage: str, question_id: str | None, question_text: str, answer: str,
    seniority: str | None = None, phase: str | None = None, run: RunResult | None = None,
) -> GradingItem:
    """What an answer is graded against: its question (by id, else matched by text) and that question's
    rubric, or the stage's generic rubric; a phased stage is graded phase by phase. Unknown stage: PlanError.
    No seniority (an answer graded outside a session): the default track's."""
    try:
        kb.stage(stage)
    except KeyError:
        raise PlanError(f"unknown stage {stage!r}") from None
    question, rubric = kb.rubric_for_answer(stage=stage, question_id=question_id, question_text=question_text)
    if question is not None and phase and phase != INVITE and question.id in kb.sheets:
        rubric = phase_rubric(kb, question, phase)
    return GradingItem(
        stage=stage, question_text=question.prompt if question else question_text, question=question,
        rubric=rubric, answer=answer, seniority=seniority or kb.default_track.default_seniority, run=run,
    )


def grade_columns(grade: Grade) -> dict:
    """A domain Grade as the columns of a stored grade."""
    data = grade.model_dump(mode="json")
    return {k: v for k, v in data.items() if k in store.GradeRecord.model_fields}
