"""Requests per client and minute, counted in the database so every worker shares the count."""

from __future__ import annotations

import time

from fastapi import Request
from sqlmodel import Session

from coach import store

WINDOW_SECONDS = 60


class RateLimited(Exception):
    def __init__(self, what: str, retry_after: int):
        super().__init__(f"too many {what}; retry in {retry_after} s")
        self.retry_after = retry_after


def check(engine, *, what: str, client: str, limit: int, now: float | None = None) -> None:
    """Count one request; raise RateLimited past `limit` in the current minute (0 = unlimited)."""
    if limit <= 0:
        return
    now = time.time() if now is None else now
    window_start = int(now) - int(now) % WINDOW_SECONDS
    with Session(engine) as db:
        hits = store.count_hit(db=db, key=f"{what}:{client}", window_start=window_start)
    if hits > limit:
        raise RateLimited(what, retry_after=max(1, window_start + WINDOW_SECONDS - int(now)))


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limit_sessions(request: Request) -> None:
    service = request.app.state.service
    check(service.engine, what="sessions", client=client_of(request), limit=service.settings.sessions_per_minute)


def limit_answers(request: Request) -> None:
    service = request.app.state.service
    check(service.engine, what="answers", client=client_of(request), limit=service.settings.answers_per_minute)
