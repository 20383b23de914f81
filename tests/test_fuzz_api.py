"""A property-based run of the whole API from its OpenAPI schema: no input gives a 5xx."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from coach.api.app import create_app
from coach.config import Settings

# Limits off: the fuzzer sends far more than a person would, and a 429 would hide the real response.
DATA_DIR = Path(tempfile.mkdtemp(prefix="coach-fuzz-"))
app = create_app(Settings(data_dir=DATA_DIR, sessions_per_minute=0, answers_per_minute=0))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
# Half the cases run as the owner of a real session, so the fuzzer gets past the token check.
CASES = itertools.count()
SESSION = TestClient(app).post("/api/sessions", json={"stages": ["technical", "behavioral"]}).json()


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail(case):
    if case.path_parameters and "session_id" in case.path_parameters and next(CASES) % 2:
        case.path_parameters["session_id"] = SESSION["id"]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {SESSION['token']}"}
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}"
