"""Operations: health, readiness, metrics, request ids, limits and migrations."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from coach.api.app import create_app
from coach.migrations import DatabaseNotMigrated
from coach.observability import JsonFormatter, request_id_var
from tests.conftest import POSTGRES_ADMIN_URL
from tests.support.answers import strong_answer
from tests.support.api import auth, start


def metric(text: str, name: str, **labels) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "llm": "offline"}}


def test_readiness_fails_when_the_llm_configuration_is_broken(settings):
    broken = settings.model_copy(update={"openai_api_key": SecretStr("sk-test"), "openai_base_url": "ftp://nowhere"})
    with TestClient(create_app(broken)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"]["llm"].startswith("error")


def test_metrics_move_as_an_interview_runs(client, kb):
    before = client.get("/metrics").text
    session = start(client, stages=["phone_screen"], mode="interview")
    client.post(f"/api/sessions/{session['id']}/answers", json={"text": strong_answer(kb, session["question"]["id"])},
                headers=auth(session["token"]))
    client.post(f"/api/sessions/{session['id']}/finish", headers=auth(session["token"]))
    client.get(f"/api/sessions/{session['id']}/report", headers=auth(session["token"]))
    after = client.get("/metrics").text
    route = {"method": "POST", "route": "/api/sessions/{session_id}/answers", "status": "200"}
    assert metric(after, "coach_http_request_seconds_count", **route) == metric(
        before, "coach_http_request_seconds_count", **route) + 1
    assert metric(after, "coach_grades_total", scorer="offline") > metric(before, "coach_grades_total", scorer="offline")
    assert "coach_grades_pending" in after


def test_every_response_carries_a_request_id(client):
    assert len(client.get("/healthz").headers["x-request-id"]) >= 8
    assert client.get("/healthz", headers={"X-Request-ID": "trace-me-42"}).headers["x-request-id"] == "trace-me-42"


def test_log_lines_are_json_with_the_request_id():
    token = request_id_var.set("abc123")
    try:
        record = logging.getLogRecordFactory()("coach.test", logging.INFO, __file__, 1, "answer stored", None, None)
        record.fields = {"session": "s1"}
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abc123" and line["message"] == "answer stored" and line["session"] == "s1"


def test_too_many_sessions_get_429_with_retry_after(settings):
    limited = settings.model_copy(update={"sessions_per_minute": 2})
    with TestClient(create_app(limited)) as client:
        codes = [client.post("/api/sessions", json={}).status_code for _ in range(3)]
        refused = client.post("/api/sessions", json={})
    assert codes == [201, 201, 429]
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
    assert "too many sessions" in refused.json()["detail"]


def test_too_many_answers_get_429_and_nothing_is_stored(settings, kb):
    limited = settings.model_copy(update={"answers_per_minute": 1})
    with TestClient(create_app(limited)) as client:
        session = start(client, stages=["phone_screen"])
        url, headers = f"/api/sessions/{session['id']}/answers", auth(session["token"])
        assert client.post(url, json={"text": strong_answer(kb, session["question"]["id"])}, headers=headers).status_code == 200
        before = client.get(f"/api/sessions/{session['id']}", headers=headers).json()
        assert client.post(url, json={"text": "another answer right away"}, headers=headers).status_code == 429
        assert client.get(f"/api/sessions/{session['id']}", headers=headers).json() == before


def test_an_unmigrated_postgres_database_is_refused(settings, postgres_url):
    name = f"coach_empty_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        empty = settings.model_copy(update={"database_url": postgres_url.rsplit("/", 1)[0] + f"/{name}"})
        with pytest.raises(DatabaseNotMigrated, match="coach db upgrade"):
            create_app(empty)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_turn_logs_its_steps_under_one_request_id(client, kb, caplog):
    session = start(client, stages=["phone_screen"])
    with caplog.at_level(logging.INFO, logger="coach"):
        response = client.post(f"/api/sessions/{session['id']}/answers", headers={
            **auth(session["token"]), "X-Request-ID": "turn-7"}, json={"text": strong_answer(kb, session["question"]["id"])})
    assert response.status_code == 200
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name.startswith("coach")]
    steps = {line["message"]: line for line in lines if line["request_id"] == "turn-7"}
    assert {"answer stored", "answer graded", "reply stored"} <= set(steps)
    assert steps["answer graded"]["scorer"] == "offline" and steps["answer stored"]["session"] == session["id"]
