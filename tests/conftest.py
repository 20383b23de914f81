"""Shared fixtures. Every test runs with its own data dir and no real API key."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from coach.api.app import create_app
from coach.config import Settings
from coach.knowledge import load_knowledge


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Point coach at a temp dir and make sure no real key or base URL leaks into a test."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "COACH_DATABASE_URL", "COACH_MODEL", "COACH_JUDGE_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    from coach.config import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def kb():
    return load_knowledge()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def start(client, **body) -> dict:
    response = client.post("/api/sessions", json={"track": "backend-developer", "seniority": "senior", **body})
    assert response.status_code == 201, response.text
    return response.json()


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
