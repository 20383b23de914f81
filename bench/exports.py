"""What the reviewer's list and the grades CSV cost on a filled database.

    python -m bench.exports --sessions 600

Fills a temporary SQLite database with finished sessions (10 graded answers of 5 criteria each,
an override on every tenth), then times one page of the reviewer list (every session's overall
computed by coach.report.session_overall) and streams the whole CSV, reporting the peak memory
Python allocated while streaming (tracemalloc) beside the CSV's size.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

from sqlmodel import Session

from coach import exports, review_store, store
from coach.api.schemas import SessionFilters
from coach.migrations import upgrade
from coach.presenters.review import grade_export_records, session_list

ANSWER = "I would put a cache in front of the catalogue and invalidate on write. " * 8


def fill(engine, sessions: int) -> None:
    criteria = [{"id": f"c{n}", "name": f"Criterion {n}", "score": 3, "evidence": [ANSWER[:70]], "feedback": "ok"}
                for n in range(5)]
    with Session(engine) as db:
        for s in range(sessions):
            session = store.InterviewSession(
                id=f"s{s:06d}", token_hash=f"h{s}", track="backend-developer", seniority="middle", mode="coach",
                seed=s, plan={"stages": [{"stage": "technical", "minutes": 30, "question_ids": []}]}, cursor={},
                status="finished",
            )
            db.add(session)
            for n in range(10):
                turn = store.Turn(session_id=session.id, seq=n, role="candidate", kind="answer", stage="technical",
                                  question_id=f"q{n}", text=ANSWER)
                db.add(turn)
                db.flush()
                db.add(store.GradeRecord(turn_id=turn.id, session_id=session.id, stage="technical", question_id=f"q{n}",
                                         question_text="?", status="done", overall=3.0, criteria=criteria,
                                         scorer="offline"))
            if s % 10 == 0:
                db.flush()
                grade = review_store.grade_for_turn(db=db, turn_id=turn.id)
                db.add(review_store.Override(grade_id=grade.id, session_id=session.id, score=4.0, machine_score=3.0,
                                             comment="fair", reviewer="bench@example.com"))
        db.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=600)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = store.make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(engine)
        fill(engine, opts.sessions)
        with Session(engine) as db:
            started = time.perf_counter()
            page = session_list(db, SessionFilters(sort="score"))
            listed = time.perf_counter() - started
        tracemalloc.start()
        started = time.perf_counter()
        size = sum(len(line) for line in exports.csv_lines(grade_export_records(review_store.export_batches(engine))))
        streamed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"sessions: {page.total}; reviewer list page sorted by score: {listed * 1000:.0f} ms")
    print(f"grades CSV: {size / 1e6:.1f} MB streamed in {streamed:.1f} s, peak Python memory {peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
