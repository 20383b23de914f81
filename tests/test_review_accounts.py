"""Reviewer accounts: password hashing, tokens shown once, the login throttle, the CLI, the migration."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel, select

from coach import review_store, reviewers
from coach.cli import main
from coach.migrations import alembic_config, upgrade
from coach.store import make_engine


@pytest.fixture
def engine(settings):
    engine = make_engine(settings.sqlalchemy_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("COACH_DATABASE_URL", settings.sqlalchemy_url)
    from coach.config import get_settings

    get_settings.cache_clear()


def test_passwords_are_stored_as_argon2_hashes(engine):
    with reviewers.open_db(engine) as db:
        reviewer, password = reviewers.add_reviewer(db=db, email=" Rev@Example.com ")
    assert reviewer.email == "rev@example.com" and len(password) >= 20
    assert reviewer.password_hash.startswith("$argon2") and password not in reviewer.password_hash
    assert reviewers.verify_password(reviewer.password_hash, password)
    assert not reviewers.verify_password(reviewer.password_hash, password + "x")
    with reviewers.open_db(engine) as db, pytest.raises(reviewers.ReviewerExists):
        reviewers.add_reviewer(db=db, email="rev@example.com")
    with reviewers.open_db(engine) as db, pytest.raises(reviewers.ReviewerError):
        reviewers.add_reviewer(db=db, email="other@example.com", password="short")


def test_tokens_are_shown_once_and_stored_hashed(engine):
    with reviewers.open_db(engine) as db:
        reviewers.add_reviewer(db=db, email="rev@example.com")
        token = reviewers.issue_token(db=db, email="rev@example.com")
    with reviewers.open_db(engine) as db:
        stored = db.exec(select(review_store.ReviewerToken)).one()
        assert token not in stored.token_hash and len(stored.token_hash) == 64
        assert reviewers.reviewer_for_token(db=db, token=token).email == "rev@example.com"
        assert reviewers.reviewer_for_token(db=db, token=token[:-1]) is None
        assert reviewers.reviewer_for_token(db=db, token=None) is None
        reviewers.remove_reviewer(db=db, email="rev@example.com")
    with reviewers.open_db(engine) as db:
        assert reviewers.reviewer_for_token(db=db, token=token) is None


def test_failed_logins_are_throttled_per_email_and_client(engine):
    with reviewers.open_db(engine) as db:
        _, password = reviewers.add_reviewer(db=db, email="rev@example.com")
    with reviewers.open_db(engine) as db:
        for _ in range(reviewers.MAX_FAILURES):
            with pytest.raises(reviewers.InvalidLogin):
                reviewers.authenticate(db=db, email="rev@example.com", password="wrong", client="10.0.0.1")
        with pytest.raises(reviewers.LoginThrottled):
            reviewers.authenticate(db=db, email="rev@example.com", password=password, client="10.0.0.1")
        # another client is not locked out by someone else's guesses
        assert reviewers.authenticate(db=db, email="rev@example.com", password=password, client="10.0.0.2")
        with pytest.raises(reviewers.InvalidLogin):
            reviewers.authenticate(db=db, email="nobody@example.com", password="x", client="10.0.0.2")


def test_a_successful_login_clears_the_failures(engine):
    with reviewers.open_db(engine) as db:
        _, password = reviewers.add_reviewer(db=db, email="rev@example.com")
    with reviewers.open_db(engine) as db:
        for _ in range(reviewers.MAX_FAILURES - 1):
            with pytest.raises(reviewers.InvalidLogin):
                reviewers.authenticate(db=db, email="rev@example.com", password="wrong", client="c")
        reviewers.authenticate(db=db, email="rev@example.com", password=password, client="c")
        with pytest.raises(reviewers.InvalidLogin):
            reviewers.authenticate(db=db, email="rev@example.com", password="wrong", client="c")
        assert reviewers.authenticate(db=db, email="rev@example.com", password=password, client="c").last_login_at


def test_of_many_wrong_passwords_at_once_no_more_than_the_limit_are_checked(engine, monkeypatch):
    """The attempt is counted before the password is checked: 40 at once from one client get 5 checks."""
    with reviewers.open_db(engine) as db:
        reviewers.add_reviewer(db=db, email="rev@example.com")
    checked, at_once = [], threading.Barrier(40)
    real_verify = reviewers.verify_password

    def counted_verify(password_hash: str, password: str) -> bool:
        checked.append(password)
        return real_verify(password_hash, password)

    def attempt(n: int) -> str:
        at_once.wait()
        with reviewers.open_db(engine) as db:
            try:
                reviewers.authenticate(db=db, email="rev@example.com", password=f"wrong {n}", client="10.0.0.9")
            except reviewers.ReviewerError as exc:
                return type(exc).__name__
        return "accepted"

    monkeypatch.setattr(reviewers, "verify_password", counted_verify)
    with ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = Counter(pool.map(attempt, range(40)))
    assert len(checked) == reviewers.MAX_FAILURES
    assert outcomes == {"InvalidLogin": reviewers.MAX_FAILURES, "LoginThrottled": 40 - reviewers.MAX_FAILURES}


def test_the_throttle_window_starts_over_once_it_has_aged_out(engine, monkeypatch):
    with reviewers.open_db(engine) as db:
        _, password = reviewers.add_reviewer(db=db, email="rev@example.com")
        for _ in range(reviewers.MAX_FAILURES + 2):
            with pytest.raises(reviewers.ReviewerError):
                reviewers.authenticate(db=db, email="rev@example.com", password="wrong", client="c")
    later = reviewers.utcnow() + reviewers.THROTTLE_WINDOW + timedelta(seconds=1)
    monkeypatch.setattr(reviewers, "utcnow", lambda: later)
    with reviewers.open_db(engine) as db:
        assert reviewers.authenticate(db=db, email="rev@example.com", password=password, client="c")


def test_the_reviewers_commands(cli_env, capsys, monkeypatch):
    assert main(["reviewers", "add", "rev@example.com"]) == 0
    out = capsys.readouterr().out
    password = out.split("password: ")[1].strip()
    assert len(password) >= 20

    answers = iter(["a long typed password", "a long typed password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["reviewers", "add", "two@example.com", "--password-prompt"]) == 0
    assert "password:" not in capsys.readouterr().out

    assert main(["reviewers", "list"]) == 0
    listed = capsys.readouterr().out
    assert "rev@example.com" in listed and "two@example.com" in listed and password not in listed

    assert main(["reviewers", "token", "rev@example.com"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith(reviewers.TOKEN_PREFIX)

    assert main(["reviewers", "remove", "two@example.com"]) == 0
    with pytest.raises(SystemExit, match="no reviewer"):
        main(["reviewers", "remove", "two@example.com"])
    with pytest.raises(SystemExit, match="already exists"):
        main(["reviewers", "add", "rev@example.com"])


def test_eval_needs_a_file_or_from_reviews_when_no_set_is_shipped(cli_env, monkeypatch, tmp_path):
    from coach import cli

    monkeypatch.setattr(cli, "EVAL_DIR", tmp_path / "no-eval-here")
    with pytest.raises(SystemExit, match="--from-reviews"):
        main(["eval"])


def test_the_migrations_match_the_tables_and_go_down_and_up(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    config = alembic_config(engine)
    command.downgrade(config, "0001")
    assert "reviewers" not in sa.inspect(engine).get_table_names()
    command.upgrade(config, "head")
    assert {"reviewers", "reviewer_tokens", "reviewer_logins", "overrides", "comments", "login_throttle"} <= set(
        sa.inspect(engine).get_table_names()
    )
