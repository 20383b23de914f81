"""Grade claims are leases renewed while the grader works: a dead worker's grade is taken over soon,
a slow but live grader's never."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from coach import store
from coach.api.app import create_app
from coach.grading import GradeQueue
from coach.scoring.offline import OfflineScorer
from tests.support.answers import strong_answer
from tests.support.api import auth, start

LEASE = 1.0  # seconds: short, so the test outlives several lease periods quickly


class SlowScorer(OfflineScorer):
    """The offline scorer taking as long as a slow LLM, counting its calls."""

    def __init__(self, kb, seconds: float):
        super().__init__(kb)
        self.seconds = seconds
        self.calls = 0

    def grade(self, item):
        self.calls += 1
        time.sleep(self.seconds)
        return super().grade(item)


def pending_grade(settings, kb):
    """An app without its background worker (no lifespan) and one stored answer whose grade waits."""
    app = create_app(settings.model_copy(update={"lease_seconds": LEASE}))
    client = TestClient(app)
    session = start(client, mode="interview", stages=["phone_screen"])
    client.post(f"/api/sessions/{session['id']}/answers", headers=auth(session["token"]),
                json={"text": strong_answer(kb, session["question"]["id"])})
    service = app.state.service
    with service.db_engine.connect() as db:
        grade_id = store.read_grades(db=db, session_id=session["id"])[0].id
    return service, grade_id


def worker(service, kb, scorer) -> GradeQueue:
    """Another worker on the same database, as a second process would be."""
    return GradeQueue(db_engine=service.db_engine, kb=kb, scorer=scorer, settings=service.grading.settings)


def read_grade(service, grade_id):
    with service.db_engine.connect() as db:
        return store.read_grade(db=db, grade_id=grade_id)


def test_a_slow_live_grader_keeps_its_grade_past_several_lease_periods(settings, kb):
    service, grade_id = pending_grade(settings, kb)
    slow, rival_scorer = SlowScorer(kb, seconds=3 * LEASE), SlowScorer(kb, seconds=0)
    first, rival = worker(service, kb, slow), worker(service, kb, rival_scorer)
    grading = threading.Thread(target=first.grade_now, args=(grade_id, "worker-a"))
    grading.start()
    taken = []
    while grading.is_alive():  # the rival keeps trying for as long as the slow grader works
        taken.append(rival.grade_next("worker-b"))
        time.sleep(LEASE / 5)
    grading.join()
    grade = read_grade(service, grade_id)
    assert (slow.calls, rival_scorer.calls) == (1, 0) and not any(taken)
    assert grade.status == "done" and grade.claimed_by == "worker-a" and grade.attempts == 1


def test_a_dead_workers_grade_is_taken_over_once_its_lease_lapses(settings, kb):
    service, grade_id = pending_grade(settings, kb)
    with service.db_engine.connect() as db:  # worker-a claims it, then dies: no heartbeat renews the lease
        dead = store.claim(db=db, grade_id=grade_id, worker="worker-a", lease=service.grading.leases.lease)
        db.commit()
    assert dead is not None
    rival = worker(service, kb, OfflineScorer(kb))
    assert rival.grade_next("worker-b") is None  # the lease still holds
    time.sleep(LEASE * 1.2)
    taken = rival.grade_next("worker-b")
    assert taken is not None and taken.status == "done" and taken.claimed_by == "worker-b"
    assert read_grade(service, grade_id).attempts == 2
