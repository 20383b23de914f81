"""Metrics, structured JSON logs and a request id that ties a turn's log lines together."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Label values come from a fixed set: a made-up method or path must not grow /metrics.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
REQUEST_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

REGISTRY = CollectorRegistry()
HTTP_SECONDS = Histogram(
    "coach_http_request_seconds", "Request latency by route", ["method", "route", "status"], registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LLM_SECONDS = Histogram(
    "coach_llm_call_seconds", "Latency of LLM work per answer or reply", ["purpose"], registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
LLM_TOKENS = Counter("coach_llm_tokens_total", "Tokens exchanged with the LLM", ["kind"], registry=REGISTRY)
LLM_RETRIES = Counter("coach_llm_retries_total", "LLM call retries", registry=REGISTRY)
GRADES = Counter("coach_grades_total", "Grades completed, by scorer", ["scorer"], registry=REGISTRY)
FALLBACKS = Counter(
    "coach_fallbacks_total", "Work done offline because the LLM failed", ["what"], registry=REGISTRY
)
# Computed from the database at each scrape, so any worker's latest value is the right one.
GRADES_PENDING = Gauge(
    "coach_grades_pending", "Stored answers waiting for a grade", registry=REGISTRY, multiprocess_mode="mostrecent"
)


def metrics_registry() -> CollectorRegistry:
    """What /metrics exposes: this process's metrics, or every worker's under `coach serve --workers N`."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    shared = CollectorRegistry()
    multiprocess.MultiProcessCollector(shared)
    return shared


def record_grade(grade) -> None:
    GRADES.labels(grade.scorer).inc()
    if grade.scorer == "offline-fallback":
        FALLBACKS.labels("grade").inc()
    if grade.scorer != "offline":
        LLM_SECONDS.labels("judge").observe(grade.latency_ms / 1000)
        LLM_TOKENS.labels("prompt").inc(grade.prompt_tokens or 0)
        LLM_TOKENS.labels("completion").inc(grade.completion_tokens or 0)
        LLM_RETRIES.inc(grade.retries)


_make_record = logging.getLogRecordFactory()


def _record_with_request_id(*args, **kwargs) -> logging.LogRecord:
    """Stamp each record with the request it was logged in, wherever it is formatted later."""
    record = _make_record(*args, **kwargs)
    record.request_id = request_id_var.get()
    return record


logging.setLogRecordFactory(_record_with_request_id)


_ENCODER = json.JSONEncoder(default=str)  # built once: json.dumps(default=...) builds one per line


class JsonFormatter(logging.Formatter):
    _stamped: tuple[int, str] = (-1, "")  # one tuple, so a reader never pairs a second with another's text

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """The second's timestamp, formatted once per second rather than once per line."""
        second, stamp = self._stamped
        if int(record.created) != second:
            stamp = super().formatTime(record, "%Y-%m-%dT%H:%M:%S")
            self._stamped = (int(record.created), stamp)
        return stamp

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("coach")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


access_log = logging.getLogger("coach.access")


class RequestContext:
    """Pure ASGI middleware: request id in and out, one JSON access log line, latency by route."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(dict(scope.get("headers") or []).get(b"x-request-id", b""))
        token = request_id_var.set(request_id)
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route, method = route_label(scope), method_label(scope["method"])
            HTTP_SECONDS.labels(method, route, str(status)).observe(elapsed)
            access_log.info(
                "request", extra={"fields": {"method": method, "route": route, "status": status,
                                             "ms": round(elapsed * 1000, 2)}}
            )
            request_id_var.reset(token)


def _request_id(raw: bytes) -> str:
    """The caller's X-Request-ID when it is a short plain token, else a fresh one (it goes into logs)."""
    text = raw.decode("latin-1")[:64]
    return text if text and set(text) <= REQUEST_ID_CHARS else uuid.uuid4().hex[:16]


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "other"


def route_label(scope: Scope) -> str:
    """The matched route's template (never the raw path); one label for everything unmatched."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"
