"""Every setting coach reads, from the environment and `.env`."""

from __future__ import annotations

import os
import secrets
import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from coach.resources import KNOWLEDGE_DIR, PROMPTS_DIR

PLACEHOLDER_SECRET = "change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_prefix="COACH_")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: SQLite file in data_dir
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    # The knowledge base and the prompt templates: by default the copies that come with coach. A team
    # points these at its own folders (same layout); `coach knowledge check` validates them.
    knowledge_dir: Path = KNOWLEDGE_DIR
    prompts_dir: Path = PROMPTS_DIR

    # The LLM (any OpenAI-compatible endpoint). These use the SDK's usual names, no prefix.
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    model: str = "gpt-4o-mini"
    judge_model: str | None = None  # defaults to `model`
    llm_timeout_seconds: float = 30.0
    llm_max_attempts: int = 4
    llm_max_retry_seconds: float = 60.0
    llm_temperature: float = 0.2
    llm_max_tokens: int = 1200
    llm_seed: int | None = 7
    judge_reasks: int = 2
    # Backoff between retries: full jitter, growing from llm_backoff_seconds up to llm_backoff_max_seconds.
    llm_backoff_seconds: float = Field(default=0.5, ge=0)
    llm_backoff_max_seconds: float = Field(default=20.0, ge=0)
    # What the judge asks for first; it steps down this list by itself when a server refuses one.
    judge_response_format: Literal["json_schema", "json_object", "prompt_only"] = "json_schema"

    # How long a grade's claim holds without renewal: its worker renews it every third of this while it
    # grades, so a claim that runs out belongs to a dead worker and is taken over.
    lease_seconds: float = Field(default=30.0, gt=0)

    # The interview.
    # Follow-ups chained on one main question or phase; None: as deep as the chosen length says.
    max_follow_ups: int | None = Field(default=None, ge=0, le=3)
    max_answer_chars: int = Field(default=20_000, ge=100)
    max_body_bytes: int = 256_000

    # Per client address and minute; 0 turns a limit off.
    sessions_per_minute: int = Field(default=20, ge=0)
    answers_per_minute: int = Field(default=120, ge=0)

    threads: int = Field(default=200, ge=4)  # worker threads for the sync routes

    host: str = "127.0.0.1"
    port: int = 8000

    # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For/-Proto are
    # believed. Empty: the headers are ignored and the connecting address is the client.
    trusted_proxies: str = ""
    # When set, /metrics answers only `Authorization: Bearer <this token>`.
    metrics_token: SecretStr | None = None

    @property
    def llm_enabled(self) -> bool:
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())

    @property
    def effective_judge_model(self) -> str:
        return self.judge_model or self.model

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [item.strip() for item in self.trusted_proxies.split(",") if item.strip()]

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'coach.db'}"

    def signing_key(self) -> str:
        """The key that signs cookies: COACH_SECRET_KEY, or else a random key kept in the data dir.

        Never the placeholder: a known key would let anyone forge a reviewer login."""
        key = self.secret_key.get_secret_value()
        if key != PLACEHOLDER_SECRET:
            return key
        return _local_secret(self.data_dir / "secret_key")

    @model_validator(mode="after")
    def _refuse_placeholder_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.secret_key.get_secret_value() == PLACEHOLDER_SECRET:
            raise ValueError("COACH_SECRET_KEY must be set to a real secret in production")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()


@lru_cache
def _local_secret(path: Path) -> str:
    """Read the key file, creating it (readable by this user only) on first use; safe if workers race."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another worker may be writing it right now
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty; delete it or set COACH_SECRET_KEY") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as file:
        file.write(key)
    return key
