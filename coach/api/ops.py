"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from coach.api.deps import ServiceDep, SettingsDep, bearer_token
from coach.observability import GRADES_PENDING, metrics_registry

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz():
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(service: ServiceDep):
    """The database answers and the LLM configuration is usable."""
    checks = {"database": _database_ok(service.db_engine), "llm": _llm_check(service.settings)}
    ready = checks["database"] == "ok" and checks["llm"] in ("ok", "offline")
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503)


async def metrics_access(settings: SettingsDep, token: Annotated[str | None, Depends(bearer_token)]) -> None:
    """With COACH_METRICS_TOKEN set, only a scraper that sends it reads the metrics."""
    expected = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if expected and not hmac.compare_digest((token or "").encode(), expected.encode()):
        raise HTTPException(status_code=401, detail="metrics need the bearer token", headers={"WWW-Authenticate": "Bearer"})


@router.get("/metrics", dependencies=[Depends(metrics_access)])
def metrics(service: ServiceDep):
    """Prometheus metrics (send `Authorization: Bearer <COACH_METRICS_TOKEN>` when one is set)."""
    GRADES_PENDING.set(service.waiting_grades())
    return Response(generate_latest(metrics_registry()), media_type=CONTENT_TYPE_LATEST)


def _database_ok(engine) -> str:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # readiness reports the failure instead of raising it
        return f"error: {exc.__class__.__name__}"


def _llm_check(settings) -> str:
    if not settings.llm_enabled:
        return "offline"
    if settings.openai_base_url and not settings.openai_base_url.startswith(("http://", "https://")):
        return "error: OPENAI_BASE_URL must start with http:// or https://"
    if not settings.model:
        return "error: COACH_MODEL is empty"
    return "ok"
