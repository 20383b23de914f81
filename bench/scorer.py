"""How long the offline scorer takes per answer, over every labeled answer in eval/.

    .venv/bin/python -m bench.scorer [--rounds 5]

Prints the median and 95th percentile in milliseconds. Target (issue 12): median <= 5 ms.
Each answer is graded once to warm the caches (rubrics, patterns), then timed `rounds` times.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from statistics import median

from coach.evaluation import grading_items, read_labeled
from coach.knowledge import load_knowledge
from coach.scoring.offline import OfflineScorer

EVAL = Path(__file__).resolve().parent.parent / "eval"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    kb = load_knowledge()
    rows = [row for name in ("calibration.jsonl", "holdout.jsonl") for row in read_labeled(EVAL / name)]
    items = grading_items(rows, kb)
    scorer = OfflineScorer(kb)
    for item in items:
        scorer.grade(item)
    wall, cpu = [], []
    for _ in range(args.rounds):
        for item in items:
            item = item.model_copy()  # a fresh answer object: nothing memoised from the round before
            started, started_cpu = time.perf_counter(), time.process_time()
            scorer.grade(item)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
    print(f"offline scorer over {len(items)} answers x {args.rounds} (target: median <= 5 ms)")
    for name, timings in (("wall", wall), ("cpu", cpu)):
        timings.sort()
        p95 = timings[int(0.95 * (len(timings) - 1))]
        print(f"  {name}: median {median(timings):.2f} ms, p95 {p95:.2f} ms, max {timings[-1]:.2f} ms")
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
