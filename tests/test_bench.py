"""Smoke test of the benchmark: tiny N, real processes, every figure printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import Interview, PhaseResult, TurnTiming, opening_calls_per_turn, percentile, throughput

ROOT = Path(__file__).resolve().parents[1]
FIGURES = [
    "overhead p50, 1 candidate, offline",
    "overhead p99, 1 candidate, offline",
    "overhead p50, 1 candidate, fake LLM",
    "overhead p99, 1 candidate, fake LLM",
    "overhead p50, 2 candidates, offline",
    "overhead p99, 2 candidates, offline",
    "overhead p50, 2 candidates, fake LLM",
    "overhead p99, 2 candidates, fake LLM",
    "throughput, L = 20 ms, C = 2",
    "prompt tokens per interview, default four stages",
    "prompt tokens per interview, all seven stages",
    "peak RSS of the server (VmHWM)",
    "ideal = C / (LLM calls per turn x L)",
]


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7.0


def test_throughput_counts_turns_in_the_window_where_everyone_is_busy():
    def interview(index, times):
        return Interview(phase=0, index=index, turns=[TurnTiming("t", sent=s, done=d, ms=0) for s, d in times])

    busy = [interview(0, [(0, 1), (1, 2), (2, 3), (3, 4)]), interview(1, [(0.5, 1.5), (1.5, 2.5), (2.5, 3.5)])]
    rate, window = throughput(PhaseResult("x", 2, 2, busy, [], []))
    assert window == pytest.approx(3.0)  # from 0.5 (the 2nd first answer) to 3.5 (the 1st last reply)
    assert rate == pytest.approx(6 / 3.0)  # replies at 1, 1.5, 2, 2.5, 3 and 3.5


def test_each_session_greeting_counts_as_one_llm_call_spread_over_its_turns():
    def interview(index, answered):
        return Interview(phase=0, index=index, session_id=f"s{index}",
                         turns=[TurnTiming("t", sent=0, done=1, ms=0)] * answered)

    assert opening_calls_per_turn([interview(0, 7), interview(1, 3)]) == pytest.approx(2 / 10)
    assert opening_calls_per_turn([]) == 0.0


BENCH_BUDGET_S = 900  # a guard against a hang, not a speed target: a loaded 2-core CI machine took over 300 s


def test_the_benchmark_prints_every_figure(tmp_path):
    command = [sys.executable, "-m", "bench.run", "-c", "2", "--solo-offline", "1", "--solo-llm", "1",
               "--latency", "0.02", "--seconds", "60"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=BENCH_BUDGET_S, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    for figure in FIGURES:
        assert figure in done.stdout, f"missing {figure!r} in:\n{done.stdout}"
    verdicts = [line for line in done.stdout.splitlines() if line.endswith(("  pass", "  MISS"))]
    assert len(verdicts) == 7  # four overhead figures, throughput and tokens (two plans), each beside its target
    assert "error in" not in done.stdout


def test_the_cost_report_judges_one_worker_against_its_targets(capsys):
    from bench.cost import CpuFigure, Efficiency, report

    report([CpuFigure("coach", 1, [7.0, 9.5, 7.5], 0), CpuFigure("interview", 1, [9.0, 8.5, 10.0], 0),
            CpuFigure("coach", 2, [12.0], 0)],
           [Efficiency(50, 0.5, 45.0, 46.7, 2.14, 800, 0), Efficiency(200, 6.0, 13.0, 15.6, 2.14, 600, 0)])
    lines = capsys.readouterr().out.splitlines()
    verdict = {line.split("  ")[0]: line.split()[-1] for line in lines if line.endswith(("pass", "MISS"))}
    assert verdict == {
        "CPU per turn, one worker, coach mode": "pass",  # the median, 7.5 ms
        "CPU per turn, one worker, interview mode": "MISS",  # 9.0 ms
        "one worker, 50 candidates, L = 500 ms": "pass",  # 96 %
        "one worker, 200 candidates, L = 6000 ms": "MISS",  # 83 %
    }
    assert any(line.startswith("CPU per turn, 2 workers, coach mode") and "12.0 ms" in line for line in lines)
