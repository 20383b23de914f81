"""What a turn costs the server, and what one worker delivers against the LLM-bound ideal.

    python -m bench.run --cost

Every figure comes from real processes: `uvicorn coach.main:app` with one worker (and with two,
beside it), SQLite in a temp dir, and the fake LLM streaming each reply one token per event.

- CPU per answered turn = the server processes' CPU seconds (/proc/<pid>/stat, user + system)
  over a phase / the turns answered in it, session starts and reports included, in coach mode
  (graded inline) and interview mode (graded by the background worker, in the same process). The
  fake answers after 50 ms, so the server is busy and idle time spreads over many turns. CPU time,
  not wall time, so other load on the machine shifts it little; each figure is measured
  `--repeat` times and printed as the median with the range.
- Share of the ideal = turns per second while every candidate is in flight / C / (LLM calls per
  turn x L), with one worker, in coach mode (the candidate waits for both of a turn's calls).
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.run import (
    Interview,
    Options,
    Server,
    app_server,
    calls_by_turn,
    drive,
    fake_llm_server,
    opening_calls_per_turn,
    phase_result,
    read_calls,
    throughput,
)

CPU_TARGET_MS = 8.0
EFFICIENCY_TARGET = 0.90
CPU_LATENCY = 0.05
CPU_CANDIDATES, CPU_INTERVIEWS = 4, 8
# (candidates, L in seconds, how long a phase starts new turns)
EFFICIENCY_LOADS = [(50, 0.5, 60.0), (200, 6.0, 48.0)]
MODES = ("coach", "interview")


@dataclass
class CpuFigure:
    mode: str
    workers: int
    samples: list[float]  # ms per turn, one per run
    errors: int

    def shown(self) -> str:
        low, high = min(self.samples), max(self.samples)
        return f"{statistics.median(self.samples):.1f} ms ({low:.1f}-{high:.1f}, {len(self.samples)} runs)"


@dataclass
class Efficiency:
    c: int
    latency: float
    rate: float
    ideal: float
    calls_per_turn: float
    turns: int
    errors: int

    @property
    def share(self) -> float:
        return self.rate / self.ideal if self.ideal else 0.0


def run_cost(opts: Options) -> int:
    print(setup_line(opts), flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="coach-bench-cost-"))
    try:
        cpu = cpu_figures(opts, workdir)
        efficiency = [efficiency_figure(opts, workdir, c, latency, seconds) for c, latency, seconds in EFFICIENCY_LOADS]
    finally:
        if opts.keep:
            print(f"server logs and databases kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report(cpu, efficiency)
    return 0


def setup_line(opts: Options) -> str:
    return (
        f"coach benchmark, cost per turn: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"uvicorn coach.main:app with 1 worker (and 2 beside it), SQLite (WAL) in a temp dir, rate limits off, "
        f"the fake LLM streaming one token per event; CPU phases: {CPU_CANDIDATES} candidates, {CPU_INTERVIEWS} "
        f"interviews per run, L = {CPU_LATENCY * 1000:.0f} ms, {opts.repeat} runs per figure; efficiency phases: "
        + ", ".join(f"C = {c} at L = {latency * 1000:.0f} ms" for c, latency, _ in EFFICIENCY_LOADS)
        + ", coach mode, candidates answering as soon as the reply arrives."
    )


def cpu_figures(opts: Options, workdir: Path) -> list[CpuFigure]:
    figures = []
    with fake_llm_server(_dir(workdir / "cpu-fake"), CPU_LATENCY) as fake:
        for workers in (1, 2):
            for mode in MODES:
                with app_server(_dir(workdir / f"cpu-{mode}-{workers}"), fake.base + "/v1", opts.app, workers) as app:
                    figures.append(_cpu_runs(app, mode, workers, opts))
    return figures


def _cpu_runs(app: Server, mode: str, workers: int, opts: Options) -> CpuFigure:
    print(f"  CPU per turn, {mode} mode, {workers} worker(s): {opts.repeat} runs ...", flush=True)
    _warm_up(app, mode, workers)
    samples, errors = [], 0
    for run in range(opts.repeat):
        before = app.cpu_seconds()
        interviews = asyncio.run(drive(app.base, phase=10 + run, n=CPU_INTERVIEWS, c=CPU_CANDIDATES,
                                       seconds=opts.seconds, mode=mode))
        spent = app.cpu_seconds() - before
        samples.append(spent * 1000 / max(1, _turns(interviews)))
        errors += sum(1 for i in interviews if i.error)
    return CpuFigure(mode, workers, samples, errors)


def efficiency_figure(opts: Options, workdir: Path, c: int, latency: float, seconds: float) -> Efficiency:
    print(f"  one worker, {c} candidates, L = {latency * 1000:.0f} ms ...", flush=True)
    place = _dir(workdir / f"efficiency-{c}")
    n = 2 * c if latency < 1 else c  # at long L the phase ends on its clock, with every candidate mid-interview
    with fake_llm_server(place, latency) as fake, app_server(place, fake.base + "/v1", opts.app, 1) as app:
        _warm_up(app, "coach", 1)
        before = app.cpu_seconds()
        interviews = asyncio.run(drive(app.base, phase=20, n=n, c=c, seconds=seconds))
        cpu = app.cpu_seconds() - before
        calls = read_calls(fake.base)
    result = phase_result(f"one worker, C = {c}", interviews, cpu, n, c, calls_by_turn(calls))
    result.opening_calls_per_turn = opening_calls_per_turn(interviews)
    rate, _window = throughput(result)
    per_turn = (result.calls_per_turn or 2.0) + result.opening_calls_per_turn
    return Efficiency(c, latency, rate, c / (per_turn * latency), per_turn, len(result.turns), len(result.errors))


def _warm_up(app: Server, mode: str, workers: int) -> None:
    """One short interview per worker, not counted: imports, caches and connections warm."""
    asyncio.run(drive(app.base, phase=99, n=workers, c=workers, seconds=2.0, mode=mode))


def _turns(interviews: list[Interview]) -> int:
    return sum(len(i.turns) for i in interviews)


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def report(cpu: list[CpuFigure], efficiency: list[Efficiency]) -> None:
    print(f"\n{'figure':52} {'measured':44} {'target':>9}  result")
    for figure in cpu:
        workers = "one worker" if figure.workers == 1 else f"{figure.workers} workers"
        name = f"CPU per turn, {workers}, {figure.mode} mode"
        if figure.workers == 1:
            met = statistics.median(figure.samples) <= CPU_TARGET_MS
            print(f"{name:52} {figure.shown():44} {'<= 8 ms':>9}  {'pass' if met else 'MISS'}")
        else:
            print(f"{name:52} {figure.shown():44}")
    for e in efficiency:
        name = f"one worker, {e.c} candidates, L = {e.latency * 1000:.0f} ms"
        shown = f"{e.rate:.1f} turns/s of ideal {e.ideal:.1f} = {e.share:.0%}"
        print(f"{name:52} {shown:44} {'>= 90%':>9}  {'pass' if e.share >= EFFICIENCY_TARGET else 'MISS'}")
    print("\nideal = C / (LLM calls per turn x L), calls per turn from the fake's log plus each session's greeting: "
          + ", ".join(f"{e.calls_per_turn:.2f} at C = {e.c} ({e.turns} turns)" for e in efficiency) + ".")
    errors = sum(f.errors for f in cpu) + sum(e.errors for e in efficiency)
    if errors:
        print(f"error in {errors} interview(s): see --keep for the server logs")
