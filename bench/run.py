"""The coach benchmark: real servers, simulated candidates, figures beside their targets.

    python -m bench.run            # the full run, a few minutes on 2 cores
    python -m bench.run --quick    # fewer candidates (several minutes: an interview is dozens of turns)
    python -m bench.run --cost     # CPU per turn by mode and workers; one worker's share of the LLM-bound ideal

It starts the app (uvicorn, its own process, SQLite in a temp dir) twice, offline and then
against the fake LLM of tests/support/fake_llm.py (its own process, see bench/fake_server.py), and
drives simulated candidates through whole interviews over HTTP, each answering as soon as
the last reply arrives. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from tests.support.fake_llm import ANSWER_BLOCK, usage

ROOT = Path(__file__).resolve().parents[1]
MAX_TURNS = 60  # an interview that has not ended by then is cut off
TAG = re.compile(r"\bbench(\d+)c(\d+)t(\d+)\b")
RECENT = re.compile(r"The conversation so far[^\n]*\n(.*?)\nYour next turn:", re.DOTALL)
SERVER_EXCEPTION = re.compile(r"^[a-z][\w.]*\.\w*(?:Error|Exception)\b.{0,100}", re.MULTILINE)
TARGETS = {"p50": 5.0, "p99": 25.0, "throughput": 0.90, "tokens": 0.50}
SENTENCES = [
    "I would start by clarifying the requirements and the expected load before choosing anything.",
    "For the write path I would put a queue in front of the workers so bursts do not reach the database.",
    "Every request carries an idempotency key, so a retry after a timeout never charges twice.",
    "Retries use exponential backoff with jitter, and they stop after a bounded number of attempts.",
    "I would measure p50 and p99 latency per endpoint and alert on the error budget, not on averages.",
    "Reads dominate here, so a cache with a short TTL in front of the primary removes most of the load.",
    "The trade-off is staleness: a user may see a value a few seconds old, which is acceptable for this page.",
    "For consistency I would keep the invariant inside one transaction and use a unique constraint as the last guard.",
    "In the last incident we found the cause by tracing one slow request end to end across three services.",
    "I would roll it out behind a feature flag, watch the dashboards, and keep the rollback one command away.",
]


# --- what one candidate does ---------------------------------------------------------------


@dataclass
class TurnTiming:
    tag: str
    sent: float  # wall clock, to line up with the fake's log
    done: float
    ms: float  # end to end, as the candidate sees it


ALL_STAGES = ["phone_screen", "technical", "coding", "system_design", "architecture_deep_dive", "behavioral", "final"]


@dataclass
class Interview:
    phase: int
    index: int
    stages: list[str] | None = None  # None: the track's default four stages
    mode: str = "coach"  # coach: graded and replied to inline; interview: graded in the background
    session_id: str = ""
    created: tuple[float, float] = (0.0, 0.0)
    transcript: list[tuple[str, str]] = field(default_factory=list)  # (role, text), as stored
    opening_turns: int = 0
    turns: list[TurnTiming] = field(default_factory=list)
    finished: bool = False
    error: str | None = None


def answer_text(tag: str, index: int, turn: int) -> str:
    """About 90 words; the tag lets the fake's log say which turn each LLM call served."""
    picked = [SENTENCES[(index + turn + k) % len(SENTENCES)] for k in range(0, 10, 2)]
    return f"{tag} " + " ".join(picked)


async def run_interview(client: httpx.AsyncClient, interview: Interview, deadline: float,
                        think: float = 0.0) -> Interview:
    pause = random.Random(f"{interview.phase}:{interview.index}")
    try:
        headers = await _start(client, interview)
        for turn in range(MAX_TURNS):
            if think:  # reading the question and writing the answer: 0.5-1.5 x think, so candidates do not move in step
                await asyncio.sleep(think * pause.uniform(0.5, 1.5))
            if time.monotonic() > deadline or await _answer(client, interview, turn, headers):
                break
        if interview.finished:
            (await client.get(f"/api/sessions/{interview.session_id}/report", headers=headers)).raise_for_status()
    except httpx.HTTPError as exc:
        interview.error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"[:200]
    return interview


async def _start(client: httpx.AsyncClient, interview: Interview) -> dict:
    started = time.time()
    body = {"track": "backend-developer", "seniority": "senior", "mode": interview.mode, "seed": interview.index}
    if interview.stages:
        body["stages"] = interview.stages
    response = await client.post("/api/sessions", json=body)
    response.raise_for_status()
    data = response.json()
    interview.created = (started, time.time())
    interview.session_id = data["id"]
    interview.transcript = [(m["role"], m["text"]) for m in data["messages"]]
    interview.opening_turns = len(interview.transcript)
    return {"Authorization": f"Bearer {data['token']}"}


async def _answer(client: httpx.AsyncClient, interview: Interview, turn: int, headers: dict) -> bool:
    """Send one answer; True once the interview is over."""
    tag = f"bench{interview.phase}c{interview.index}t{turn}"
    text = answer_text(tag, interview.index, turn)
    sent, started = time.time(), time.perf_counter()
    response = await client.post(f"/api/sessions/{interview.session_id}/answers", json={"text": text}, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    data = response.json()
    interview.turns.append(TurnTiming(tag=tag, sent=sent, done=time.time(), ms=elapsed))
    interview.transcript += [("candidate", text), ("interviewer", data["reply"]["text"])]
    interview.finished = bool(data["done"])
    return interview.finished


async def drive(base: str, *, phase: int, n: int, c: int, seconds: float, think: float = 0.0,
                stages: list[str] | None = None, mode: str = "coach") -> list[Interview]:
    """N candidates, at most C at once, each through a whole interview (or until the deadline),
    pausing `think` seconds before each answer."""
    deadline = time.monotonic() + seconds
    gate = asyncio.Semaphore(c)
    limits = httpx.Limits(max_connections=c + 4, max_keepalive_connections=c + 4)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:

        async def one(index: int) -> Interview:
            async with gate:
                interview = Interview(phase=phase, index=index, stages=stages, mode=mode)
                return await run_interview(client, interview, deadline, think)

        return list(await asyncio.gather(*(one(i) for i in range(n))))


# --- the processes --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    base: str
    process: subprocess.Popen
    log: Path

    def pids(self) -> list[int]:
        """The server's process and its descendants (uvicorn's workers when it runs several)."""
        parents = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parents[int(entry.name)] = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        found, frontier = [self.process.pid], [self.process.pid]
        while frontier:
            children = [pid for pid, ppid in parents.items() if ppid in frontier]
            found += children
            frontier = children
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server's processes so far, from /proc/<pid>/stat."""
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def exceptions(self) -> Counter:
        """The exceptions the server logged, by their last traceback line."""
        return Counter(m.group(0) for m in SERVER_EXCEPTION.finditer(self.log.read_text()))

    def peak_rss_mb(self) -> float:
        """VmHWM, the resident set's high-water mark, from /proc (psutil is not needed), summed
        over the server's processes (an upper bound of their peak together)."""
        kb = 0
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            kb += int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))
        return kb / 1024


@contextmanager
def process(args: list[str], *, env: dict, ready: str, workdir: Path, name: str):
    port = free_port()
    log = (workdir / f"{name}.log").open("w")
    proc = subprocess.Popen([sys.executable, *args, "--port", str(port)], env=env, cwd=workdir,
                            stdout=log, stderr=subprocess.STDOUT)
    server = Server(base=f"http://127.0.0.1:{port}", process=proc, log=workdir / f"{name}.log")
    try:
        _wait_ready(server, ready, workdir / f"{name}.log")
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_ready(server: Server, path: str, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{log.stem} exited at start:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.TransportError):  # not listening yet
            if httpx.get(server.base + path, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{log.stem} did not start within {seconds:.0f} s:\n{log.read_text()[-2000:]}")


def base_env(workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COACH_", "OPENAI_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["COACH_DATA_DIR"] = str(workdir / "data")
    # Every simulated candidate comes from 127.0.0.1: the per-client rate limits would stop them.
    env.update(COACH_SESSIONS_PER_MINUTE="0", COACH_ANSWERS_PER_MINUTE="0")
    return env


@contextmanager
def app_server(workdir: Path, llm_base: str | None, app: str = "coach.main:app", workers: int = 1):
    env = base_env(workdir)
    if llm_base:
        env.update(OPENAI_API_KEY="sk-bench-fake", OPENAI_BASE_URL=llm_base)
    # Migrate once before the workers start (`coach db upgrade`), as a deployment would.
    subprocess.run([sys.executable, "-m", "coach.cli", "db", "upgrade"], env=env, cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL)
    args = ["-m", "uvicorn", app, "--host", "127.0.0.1", "--log-level", "warning", "--no-access-log",
            "--workers", str(workers)]
    with process(args, env=env, ready="/api/tracks", workdir=workdir, name="app") as server:
        yield server


@contextmanager
def fake_llm_server(workdir: Path, latency: float):
    # One SSE event per token, as real providers stream: each costs the server a read and a parse.
    args = ["-m", "bench.fake_server", "--latency", str(latency), "--per-token"]
    with process(args, env=base_env(workdir), ready="/bench/log", workdir=workdir, name="fake-llm") as server:
        yield server


# --- reading the fake's log -----------------------------------------------------------------


def tokens(text: str) -> int:
    """The fake server's own token estimate (tests/support/fake_llm.py `usage`), for one text."""
    return usage({"messages": [{"role": "user", "content": text}]}, "")["prompt_tokens"]


@dataclass
class LLMCall:
    arrived: float
    ms: float
    kind: str  # "judge" or "interviewer"
    prompt_tokens: int
    excerpt_tokens: int  # the part of the prompt that is conversation (recent turns, or the answer)
    tag: tuple[int, int, int] | None  # (phase, candidate, turn) of the answer it serves


def read_calls(fake_base: str) -> list[LLMCall]:
    records = httpx.get(fake_base + "/bench/log", timeout=60).json()
    return [_call(r) for r in records]


def _call(record: dict) -> LLMCall:
    body = record["body"]
    prompt = "\n".join(m["content"] for m in body["messages"] if m["role"] != "assistant")
    if body.get("response_format"):
        excerpt = "\n".join(m.group(2) for m in ANSWER_BLOCK.finditer(prompt))
    else:
        excerpt = "\n".join(_conversation(m.group(1)) for m in RECENT.finditer(prompt))
    tags = [(int(a), int(b), int(c)) for a, b, c in TAG.findall(prompt)]
    return LLMCall(
        arrived=record["arrived"], ms=record["ms"], kind="judge" if body.get("response_format") else "interviewer",
        prompt_tokens=usage(body, "")["prompt_tokens"],
        excerpt_tokens=tokens(excerpt), tag=max(tags, key=lambda t: t[2]) if tags else None,
    )


def _conversation(block: str) -> str:
    """The quoted turns of the interviewer's "conversation so far", without its boundary lines."""
    lines = block.strip("\n").split("\n")
    boundary = lines[0] if lines and " " not in lines[0].strip() else None
    return "\n".join(line for line in lines if boundary is None or line.strip() != boundary.strip())


def calls_by_turn(calls: list[LLMCall]) -> dict[str, list[LLMCall]]:
    by_turn = defaultdict(list)
    for call in calls:
        if call.tag is not None:
            by_turn["bench{}c{}t{}".format(*call.tag)].append(call)
    return by_turn


# --- the figures ----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class PhaseResult:
    label: str
    n: int
    c: int
    interviews: list[Interview]
    overhead: list[float]
    llm_ms: list[float]
    calls_per_turn: float = 0.0
    opening_calls_per_turn: float = 0.0  # each session's greeting, spread over its turns
    cpu_seconds: float = 0.0  # the server's, over the phase

    @property
    def turns(self) -> list[TurnTiming]:
        return [t for i in self.interviews for t in i.turns]

    @property
    def errors(self) -> list[str]:
        return [i.error for i in self.interviews if i.error]


def phase_result(label: str, interviews: list[Interview], cpu: float, n: int, c: int,
                 by_turn: dict | None) -> PhaseResult:
    """Overhead per turn: end to end minus the time the fake spent on that turn's LLM calls."""
    turns = [t for i in interviews for t in i.turns]
    llm = [sum(call.ms for call in by_turn.get(t.tag, [])) if by_turn is not None else 0.0 for t in turns]
    result = PhaseResult(label, n, c, interviews, [t.ms - ms for t, ms in zip(turns, llm, strict=True)], llm, cpu_seconds=cpu)
    if by_turn is not None and turns:
        result.calls_per_turn = sum(len(by_turn.get(t.tag, [])) for t in turns) / len(turns)
    return result


def opening_calls_per_turn(interviews: list[Interview]) -> float:
    """Each session opens with one LLM call (the greeting, before any answer): per answered turn."""
    turns = sum(len(i.turns) for i in interviews)
    return sum(1 for i in interviews if i.session_id) / turns if turns else 0.0


def throughput(phase: PhaseResult) -> tuple[float, float]:
    """Turns per second while C interviews were in flight, and the window's length.

    The window runs from the C-th interview's first answer to the (N-C+1)-th interview's last
    reply, leaving ramp-up and tail out; if that is too short, the whole phase counts.
    """
    active = [i for i in phase.interviews if i.turns]
    if not active:
        return 0.0, 0.0
    c = min(phase.c, len(active))
    starts = sorted(i.turns[0].sent for i in active)
    ends = sorted(i.turns[-1].done for i in active)
    start, end = starts[c - 1], ends[len(active) - c]
    if end - start < 2.0:
        start, end = starts[0], ends[-1]
    done = [t for t in phase.turns if start <= t.done <= end]
    return len(done) / max(end - start, 1e-9), end - start


def token_costs(interviews: list[Interview], calls: list[LLMCall]) -> dict[str, tuple[float, float]]:
    """Mean prompt tokens per whole interview, by kind of call and in all: as sent, and had every
    call carried the full transcript.

    The counterfactual re-counts each call with the same estimate the fake uses: the call's own
    prompt, less the conversation excerpt it carried, plus the whole transcript up to that answer.
    """
    sent, full = defaultdict(list), defaultdict(list)
    for interview in (i for i in interviews if i.finished):
        mine = [c for c in calls if c.tag is not None and c.tag[:2] == (interview.phase, interview.index)]
        opening = [c for c in calls if c.tag is None and interview.created[0] <= c.arrived <= interview.created[1]]
        so_far = _transcript_tokens(interview)
        for kind in ("interviewer", "judge"):
            sent[kind].append(sum(c.prompt_tokens for c in mine + opening if c.kind == kind))
            full[kind].append(sum(c.prompt_tokens for c in opening if c.kind == kind) + sum(
                c.prompt_tokens - c.excerpt_tokens + so_far[c.tag[2]] for c in mine if c.kind == kind))
        sent["all"].append(sent["interviewer"][-1] + sent["judge"][-1])
        full["all"].append(full["interviewer"][-1] + full["judge"][-1])
    return {kind: (_mean(sent[kind]), _mean(full[kind])) for kind in ("all", "interviewer", "judge")}


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _transcript_tokens(interview: Interview) -> list[int]:
    """For each answer, the tokens of the transcript up to and including it, one line per turn."""
    lines = [tokens(f"[{role}]: {text}") for role, text in interview.transcript]
    return [sum(lines[: interview.opening_turns + 2 * k + 1]) for k in range(len(interview.turns))]


# --- the run --------------------------------------------------------------------------------


@dataclass
class Options:
    n: int
    c: int
    solo_offline: int
    solo_llm: int
    latency: float
    seconds: float
    keep: bool
    app: str
    workers: int
    think: float
    cost: bool = False
    repeat: int = 3


def options(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description="Benchmark coach end to end.")
    parser.add_argument("--quick", action="store_true", help="20 concurrent candidates and fewer solo interviews")
    parser.add_argument("-n", type=int, help="interviews in the concurrent phases (default: 2 x C)")
    parser.add_argument("-c", type=int, help="concurrent candidates (default 100, quick 20)")
    parser.add_argument("--solo-offline", type=int, help="interviews one at a time, offline (default 20, quick 5)")
    parser.add_argument("--solo-llm", type=int, help="interviews one at a time, fake LLM (default 3, quick 1)")
    parser.add_argument("--latency", type=float, default=0.5, help="L: the fake LLM's seconds per call (0.5)")
    parser.add_argument("--seconds", type=float, help="each phase stops starting turns after this (default 120)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs, databases)")
    parser.add_argument("--app", default="coach.main:app", help="the ASGI app uvicorn serves, to try a variant")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2: one per core here)")
    parser.add_argument("--cost", action="store_true",
                        help="only the CPU-per-turn and one-worker efficiency phases (bench/README.md, 'Cost per turn')")
    parser.add_argument("--repeat", type=int, default=3, help="--cost: measurements per CPU figure (default 3)")
    parser.add_argument("--think", type=float, default=2.0,
                        help="seconds a candidate pauses before each answer in the think-time phases (default 2; 0 skips them)")
    args = parser.parse_args(argv)
    c = args.c or (20 if args.quick else 100)
    return Options(
        n=args.n or 2 * c, c=c, latency=args.latency,
        solo_offline=args.solo_offline if args.solo_offline is not None else (5 if args.quick else 20),
        solo_llm=args.solo_llm if args.solo_llm is not None else (1 if args.quick else 3),
        seconds=args.seconds or (60 if args.quick else 120), keep=args.keep, app=args.app,
        workers=args.workers, think=args.think, cost=args.cost, repeat=max(1, args.repeat),
    )


def run_phase(app: Server, label: str, *, phase: int, n: int, c: int, seconds: float, think: float = 0.0,
              stages: list[str] | None = None, mode: str = "coach") -> tuple[str, list[Interview], float]:
    """(label, interviews, server CPU seconds); warm-up interviews first (one per worker), not counted."""
    print(f"  {label}: {n} interview(s), {c} at once ...", flush=True)
    asyncio.run(drive(app.base, phase=90 + phase, n=2, c=2, seconds=seconds, mode=mode))
    cpu = app.cpu_seconds()
    interviews = asyncio.run(drive(app.base, phase=phase, n=n, c=c, seconds=seconds, think=think, stages=stages,
                                   mode=mode))
    return label, interviews, app.cpu_seconds() - cpu


@dataclass
class ServerFigures:
    name: str
    peak_rss_mb: float
    exceptions: Counter

    @classmethod
    def of(cls, name: str, server: Server) -> ServerFigures:
        return cls(name, server.peak_rss_mb(), server.exceptions())


def offline_phases(opts: Options, workdir: Path) -> tuple[list[PhaseResult], ServerFigures, PhaseResult | None]:
    with app_server(workdir / "offline", None, opts.app, opts.workers) as app:
        solo = run_phase(app, "offline, 1 candidate", phase=1, n=opts.solo_offline, c=1, seconds=opts.seconds)
        crowd = run_phase(app, f"offline, {opts.c} candidates", phase=2, n=opts.n, c=opts.c,
                          seconds=opts.seconds)
        thinking = run_phase(app, f"offline, {opts.c}, think {opts.think:g} s", phase=5, n=opts.c, c=opts.c,
                             seconds=opts.seconds, think=opts.think) if opts.think else None
        server = ServerFigures.of("offline", app)
    results = [phase_result(*solo, opts.solo_offline, 1, None), phase_result(*crowd, opts.n, opts.c, None)]
    return results, server, phase_result(*thinking, opts.c, opts.c, None) if thinking else None


def llm_phases(opts: Options, workdir: Path) -> tuple[list[PhaseResult], ServerFigures, dict, PhaseResult | None]:
    with (fake_llm_server(workdir, opts.latency) as fake,
          app_server(workdir / "llm", fake.base + "/v1", opts.app, opts.workers) as app):
        solo = run_phase(app, "fake LLM, 1 candidate", phase=3, n=opts.solo_llm, c=1, seconds=opts.seconds)
        crowd = run_phase(app, f"fake LLM, {opts.c} candidates", phase=4, n=opts.n, c=opts.c,
                          seconds=opts.seconds)
        thinking = run_phase(app, f"fake LLM, {opts.c}, think {opts.think:g} s", phase=6, n=opts.c, c=opts.c,
                             seconds=opts.seconds, think=opts.think) if opts.think else None
        # Tokens grow with the length of an interview: measure the whole seven-stage process too.
        seven = run_phase(app, "fake LLM, 1 candidate, all seven stages", phase=7, n=opts.solo_llm, c=1,
                          seconds=opts.seconds, stages=ALL_STAGES)
        server = ServerFigures.of("fake LLM", app)
        calls = read_calls(fake.base)
    by_turn = calls_by_turn(calls)
    results = [phase_result(*solo, opts.solo_llm, 1, by_turn), phase_result(*crowd, opts.n, opts.c, by_turn)]
    results[1].opening_calls_per_turn = opening_calls_per_turn(crowd[1])
    realistic = phase_result(*thinking, opts.c, opts.c, by_turn) if thinking else None
    tokens_by_plan = {"default four stages": token_costs(solo[1], calls), "all seven stages": token_costs(seven[1], calls)}
    return results, server, tokens_by_plan, realistic


def main(argv: list[str] | None = None) -> int:
    opts = options(argv)
    if opts.cost:
        from bench.cost import run_cost

        return run_cost(opts)
    print(setup_line(opts), flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="coach-bench-"))
    try:
        (workdir / "offline").mkdir()
        (workdir / "llm").mkdir()
        offline, offline_server, offline_thinking = offline_phases(opts, workdir)
        llm, llm_server, token_figures, llm_thinking = llm_phases(opts, workdir)
        realistic = [p for p in (offline_thinking, llm_thinking) if p is not None]
    finally:
        if opts.keep:
            print(f"server logs and databases kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report(opts, offline + llm, [offline_server, llm_server], token_figures, realistic)
    return 0


# --- printing -------------------------------------------------------------------------------


def setup_line(opts: Options) -> str:
    variant = "" if opts.app == "coach.main:app" else f" (serving {opts.app})"
    workers = "one uvicorn worker" if opts.workers == 1 else f"{opts.workers} uvicorn worker processes"
    thinking = (
        f" The think-time phases (reported apart, below the targets) run C = {opts.c} candidates who each pause "
        f"{opts.think / 2:g}-{opts.think * 1.5:g} s (uniformly at random, {opts.think:g} s on average) before every "
        f"answer; real candidates take minutes."
    ) if opts.think else ""
    return (
        f"coach benchmark{variant}: {os.cpu_count()} cores, Python {platform.python_version()}, {workers}, "
        f"SQLite (WAL) in a temp dir, rate limits off; sessions in coach mode (grade and reply inline, over POST /answers); "
        f"N = {opts.n}, C = {opts.c}, L = {opts.latency * 1000:.0f} ms; candidates answer as soon as "
        f"the reply arrives (no think time), and a new interview starts as soon as one ends.{thinking}"
    )


def report(opts: Options, phases: list[PhaseResult], servers: list[ServerFigures],
           token_figures: dict[str, dict[str, tuple[float, float]]], realistic: Sequence[PhaseResult] = ()) -> None:
    print("\nCPU/turn = the server processes' CPU time over the phase (/proc/<pid>/stat) / turns, session starts\n"
          "and reports included. LLM time per turn = the sum of the fake server's own per-request durations (its request log),\n"
          "matched to turns by a tag in each answer; offline it is 0. overhead = end to end - LLM time.\n")
    print(f"{'phase':28} {'interviews':>10} {'turns':>6} {'errors':>6} {'e2e p50':>9} {'LLM/turn':>9} "
          f"{'calls/turn':>10} {'overhead p50':>12} {'p99':>9} {'CPU/turn':>9}")
    for p in [*phases, *realistic]:
        e2e = [t.ms for t in p.turns]
        llm = sum(p.llm_ms) / len(p.llm_ms) if p.llm_ms else 0.0
        print(f"{p.label:28} {len(p.interviews):>10} {len(p.turns):>6} {len(p.errors):>6} "
              f"{percentile(e2e, 50):>7.1f}ms {llm:>7.1f}ms {p.calls_per_turn:>10.2f} "
              f"{percentile(p.overhead, 50):>10.1f}ms {percentile(p.overhead, 99):>7.1f}ms "
              f"{p.cpu_seconds * 1000 / max(len(p.turns), 1):>7.1f}ms")
    for p in [*phases, *realistic]:
        for error in sorted(set(p.errors))[:3]:
            print(f"  error in {p.label}: {error}")
    for server in servers:
        for line, count in server.exceptions.most_common(3):
            print(f"  the {server.name} server logged {count} x {line}")
    print()
    figures(opts, phases, servers, token_figures)
    if realistic:
        think_time(opts, realistic)


def think_time(opts: Options, phases: Sequence[PhaseResult]) -> None:
    """The overhead targets again, under a load with think time: beside the figures above, never instead."""
    print(f"\nWith think time ({opts.think / 2:g}-{opts.think * 1.5:g} s before each answer, C = {opts.c}); the "
          f"targets above are judged on the no-think-time phases:")
    for p in phases:
        for name, q, limit in (("p50", 50, TARGETS["p50"]), ("p99", 99, TARGETS["p99"])):
            value = percentile(p.overhead, q)
            verdict = "meets the target" if value <= limit else "misses the target"
            print(f"  overhead {name}, {p.label:34} {value:8.1f} ms   (target <= {limit:g} ms: {verdict})")


def figures(opts: Options, phases: list[PhaseResult], servers: list[ServerFigures],
            token_figures: dict[str, dict[str, tuple[float, float]]]) -> None:
    offline_crowd, llm_crowd = phases[1], phases[3]
    rate, window = throughput(llm_crowd)
    # Every LLM call a candidate waits for bounds the rate: the two per turn and the greeting that
    # opens each session (spread over that session's turns).
    per_turn, opening = llm_crowd.calls_per_turn or 2.0, llm_crowd.opening_calls_per_turn
    k = per_turn + opening
    ideal = min(opts.c, opts.n) / (k * opts.latency)
    rows = [
        ("overhead p50, 1 candidate, offline", f"{percentile(phases[0].overhead, 50):.1f} ms", None),
        ("overhead p99, 1 candidate, offline", f"{percentile(phases[0].overhead, 99):.1f} ms", None),
        ("overhead p50, 1 candidate, fake LLM", f"{percentile(phases[2].overhead, 50):.1f} ms", None),
        ("overhead p99, 1 candidate, fake LLM", f"{percentile(phases[2].overhead, 99):.1f} ms", None),
        (f"overhead p50, {opts.c} candidates, offline", f"{percentile(offline_crowd.overhead, 50):.1f} ms",
         _check(percentile(offline_crowd.overhead, 50), TARGETS["p50"], "ms")),
        (f"overhead p99, {opts.c} candidates, offline", f"{percentile(offline_crowd.overhead, 99):.1f} ms",
         _check(percentile(offline_crowd.overhead, 99), TARGETS["p99"], "ms")),
        (f"overhead p50, {opts.c} candidates, fake LLM", f"{percentile(llm_crowd.overhead, 50):.1f} ms",
         _check(percentile(llm_crowd.overhead, 50), TARGETS["p50"], "ms")),
        (f"overhead p99, {opts.c} candidates, fake LLM", f"{percentile(llm_crowd.overhead, 99):.1f} ms",
         _check(percentile(llm_crowd.overhead, 99), TARGETS["p99"], "ms")),
        (f"offline capacity ({opts.c} candidates)", f"{throughput(offline_crowd)[0]:.1f} turns/s", None),
        (f"throughput, L = {opts.latency * 1000:.0f} ms, C = {opts.c}",
         f"{rate:.1f} turns/s of ideal {ideal:.1f} = {rate / ideal:.0%}", _check(rate / ideal, TARGETS["throughput"], "", at_least=True)),
        *[row for plan, costs in token_figures.items() for row in _token_rows(plan, costs)],
        ("peak RSS of the server (VmHWM)", ", ".join(f"{s.peak_rss_mb:.0f} MB {s.name}" for s in servers), None),
    ]
    print(f"{'figure':52} {'measured':46} {'target':>9}  result")
    for name, value, check in rows:
        target, verdict = check or ("", "")
        print(f"{name:52} {value:46} {target:>9}  {verdict}")
    print(f"\nideal = C / (LLM calls per turn x L) = {min(opts.c, opts.n)} / (({per_turn:.2f} + {opening:.2f} opening) x "
          f"{opts.latency:.3f} s); "
          f"turns counted over a {window:.1f} s window while {min(opts.c, opts.n)} interviews were in flight.")


def _token_rows(plan: str, costs: dict[str, tuple[float, float]]) -> list[tuple]:
    sent, full = costs["all"]
    return [
        (f"prompt tokens per interview, {plan}", f"{sent:.0f} (full transcript: {full:.0f}) = {sent / full:.0%}",
         _check(sent / full, TARGETS["tokens"], "")),
        *[(f"  of which {kind} calls", f"{costs[kind][0]:.0f} (full transcript: {costs[kind][1]:.0f})", None)
          for kind in ("interviewer", "judge")],
    ]


def _check(value: float, limit: float, unit: str, *, at_least: bool = False) -> tuple[str, str]:
    shown = f"{limit:g} ms" if unit == "ms" else f"{limit:.0%}"
    met = value >= limit if at_least else value <= limit
    return f"{'>=' if at_least else '<='} {shown}", "pass" if met else "MISS"


if __name__ == "__main__":
    sys.exit(main())
