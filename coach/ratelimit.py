"""Requests per client and minute, counted in the database so every worker shares the count."""

from __future__ import annotations

import time
from functools import partial

from fastapi import Request
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from coach import store

WINDOW_SECONDS = 60


class RateLimited(Exception):
    def __init__(self, what: str, retry_after: int):
        super().__init__(f"too many {what}; retry in {retry_after} s")
        self.retry_after = retry_after


def check(db_engine: Engine, *, what: str, client: str, limit: int, now: float | None = None) -> None:
    """Count one request; raise RateLimited past `limit` in the current minute (0 = unlimited)."""
    if limit <= 0:
        return
    now = time.time() if now is None else now
    window_start = int(now) - int(now) % WINDOW_SECONDS
    with db_engine.connect() as db, store.write_lock(db_engine):
        hits = store.count_hit(db=db, key=f"{what}:{client}", window_start=window_start)
        db.commit()
    if hits > limit:
        raise RateLimited(what, retry_after=max(1, window_start + WINDOW_SECONDS - int(now)))


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# Async dependencies that count in a worker thread, and only when a limit is set: no thread hop
# (nor database write) on a request that no limit applies to.


async def limit_sessions(request: Request) -> None:
    await _limit(request, "sessions", request.app.state.service.settings.sessions_per_minute)


async def limit_answers(request: Request) -> None:
    await _limit(request, "answers", request.app.state.service.settings.answers_per_minute)


async def _limit(request: Request, what: str, limit: int) -> None:
    if limit > 0:
        db_engine = request.app.state.service.db_engine
        await run_in_threadpool(partial(check, db_engine, what=what, client=client_of(request), limit=limit))
