"""The FastAPI application: wiring only. Routes live in the routers."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from coach.api import candidate, exports, ops, pages, review, review_pages
from coach.config import Settings, get_settings
from coach.engine import PlanError
from coach.migrations import prepare_database
from coach.observability import RequestContext
from coach.ratelimit import RateLimited
from coach.service import AnswerInFlight, IdempotencyMismatch, InterviewService, SessionNotFound, SessionOver
from coach.store import make_engine
from coach.wiring import build_service
from coach.worker import GradeWorker


def create_app(settings: Settings | None = None, service: InterviewService | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Routes are sync and wait on the database or the LLM: give them enough threads.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        worker = GradeWorker(app.state.service).start()
        yield
        worker.stop()

    app = FastAPI(
        title="coach",
        summary="Mock interviews for backend developers, graded against rubrics with quoted evidence.",
        version="0.1.0",
        lifespan=lifespan,
    )
    if service is None:
        engine = make_engine(settings.sqlalchemy_url)
        prepare_database(engine, settings)
        service = build_service(settings, engine)
    app.state.settings = settings
    app.state.service = service
    app.include_router(candidate.router)
    app.include_router(ops.router)
    app.include_router(pages.router)
    app.include_router(review.router)
    app.include_router(review_pages.router)
    app.include_router(exports.router, prefix="/api/review", tags=["review"])
    app.include_router(exports.router, prefix="/review", include_in_schema=False)
    app.add_middleware(SessionMiddleware, **review_pages.session_cookie_options(settings))
    app.mount("/static", StaticFiles(directory=Path(__file__).resolve().parents[2] / "web" / "static"), name="static")
    _add_error_handlers(app)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.add_middleware(RequestContext)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    errors = {
        PlanError: 422,
        SessionNotFound: 404,
        SessionOver: 409,
        AnswerInFlight: 409,
        IdempotencyMismatch: 422,
    }
    for exc_type, status in errors.items():
        app.add_exception_handler(exc_type, _handler(status))
    app.add_exception_handler(RateLimited, _rate_limited)


async def _rate_limited(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)  # registered for RateLimited only
    return JSONResponse(status_code=429, content={"detail": str(exc)}, headers={"Retry-After": str(exc.retry_after)})


def _handler(status: int):
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=status, content={"detail": str(exc) or "not found"})

    return handle


class BodySizeLimit:
    """Refuse bodies over the limit with 413, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(send)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise TooLarge()
            return message

        return counted

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse(status_code=413, content={"detail": f"request body too large: at most {self.limit} bytes"})
        await response({"type": "http"}, None, send)


class TooLarge(Exception):
    """A streamed body passed the size limit (FastAPI answers a body it cannot read with 400)."""
