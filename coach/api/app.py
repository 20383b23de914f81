"""The FastAPI application: wiring only. Routes live in the routers."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from coach.api import candidate, pages
from coach.config import Settings, get_settings
from coach.engine import PlanError
from coach.migrations import prepare_database
from coach.service import AnswerInFlight, InterviewService, SessionNotFound, SessionOver
from coach.store import make_engine
from coach.wiring import build_service
from coach.worker import GradeWorker


def create_app(settings: Settings | None = None, service: InterviewService | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
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
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).resolve().parents[2] / "web" / "static"), name="static")
    _add_error_handlers(app)
    _limit_body_size(app, settings.max_body_bytes)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    errors = {
        PlanError: 422,
        SessionNotFound: 404,
        SessionOver: 409,
        AnswerInFlight: 409,
    }
    for exc_type, status in errors.items():
        app.add_exception_handler(exc_type, _handler(status))


def _handler(status: int):
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=status, content={"detail": str(exc) or "not found"})

    return handle


def _limit_body_size(app: FastAPI, limit: int) -> None:
    @app.middleware("http")
    async def refuse_large_bodies(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return JSONResponse(status_code=413, content={"detail": f"request body too large: at most {limit} bytes"})
        return await call_next(request)
