"""Settings: one object, every variable documented in .env.example, no placeholder secret in production."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from coach.config import Settings

ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


def variable_of(name: str, field) -> str:
    return field.validation_alias if isinstance(field.validation_alias, str) else f"COACH_{name.upper()}"


def test_every_setting_is_listed_in_env_example_with_a_comment():
    lines = ENV_EXAMPLE.read_text().splitlines()
    for name, field in Settings.model_fields.items():
        variable = variable_of(name, field)
        index = next((i for i, line in enumerate(lines) if re.match(rf"#?\s*{variable}=", line)), None)
        assert index is not None, f"{variable} is missing from .env.example"
        above = [line for line in lines[:index] if line.strip()][-1]
        assert above.startswith("#"), f"{variable} has no comment above it"


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("COACH_MAX_FOLLOW_UPS", "2")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings = Settings()
    assert settings.max_follow_ups == 2 and settings.llm_enabled


def test_production_refuses_the_placeholder_secret(monkeypatch):
    monkeypatch.setenv("COACH_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="COACH_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("COACH_SECRET_KEY", "a-long-random-value-for-production-use")
    assert Settings().signing_key() == "a-long-random-value-for-production-use"
