"""The FastAPI application: wiring only. Routes live in the routers."""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from coach.api import candidate, docs, exports, ops, pages, review, review_pages
from coach.api.middleware import BodySizeLimit, HeadAsGet, PlainTextInput, SecurityHeaders
from coach.coderun import InvalidCodeAnswer
from coach.config import Settings, get_settings
from coach.drills import DrillError
from coach.engine import PlanError
from coach.migrations import prepare_database
from coach.observability import RequestContext
from coach.ratelimit import RateLimited
from coach.resources import WEB_DIR
from coach.service import (
    AnswerInFlight,
    IdempotencyMismatch,
    InterviewService,
    SessionNotFound,
    SessionOver,
    SessionStillActive,
)
from coach.store import make_engine
from coach.wiring import build_service
from coach.worker import GradeWorker


def create_app(settings: Settings | None = None, service: InterviewService | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Routes are sync and wait on the database or the LLM: give them enough threads.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        worker = GradeWorker(app.state.service.grading).start()
        yield
        worker.stop()

    app = FastAPI(
        title="coach",
        summary="Mock interviews for backend developers, graded against rubrics with quoted evidence.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by coach.api.docs from local files, not a CDN
        redoc_url=None,
    )
    if service is None:
        db_engine = make_engine(settings.sqlalchemy_url)
        prepare_database(db_engine, settings)
        service = build_service(settings, db_engine)
    app.state.settings = settings
    app.state.service = service
    app.include_router(candidate.router)
    app.include_router(ops.router)
    app.include_router(docs.router)
    app.include_router(pages.router)
    app.include_router(review.router)
    app.include_router(review_pages.router)
    app.include_router(exports.router, prefix="/api/review", tags=["review"])
    app.include_router(exports.router, prefix="/review", include_in_schema=False)
    app.add_middleware(SessionMiddleware, **review_pages.session_cookie_options(settings))
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    _add_error_handlers(app)
    _add_middleware(app, settings)
    return app


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    """Added innermost first: the proxy headers are read before anything uses the client address,
    and the body limit applies before the plain-text check reads a body whole."""
    app.add_middleware(PlainTextInput)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContext)
    if settings.trusted_proxy_list:
        # Off by default: from anyone else X-Forwarded-For would be a free new address per request.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)


def _add_error_handlers(app: FastAPI) -> None:
    errors = {
        PlanError: 422,
        SessionNotFound: 404,
        SessionOver: 409,
        SessionStillActive: 409,
        DrillError: 422,
        AnswerInFlight: 409,
        IdempotencyMismatch: 422,
        InvalidCodeAnswer: 422,
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
