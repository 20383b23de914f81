"""Reviewer accounts: passwords (argon2), API tokens (shown once, stored hashed), logins, the login throttle.

A login is a row on the server (its cookie holds only a random secret), so logging out or removing
the account ends it. The throttle lives in the database, so it holds across workers: each attempt
for one email from one client is counted before its password is checked, and past MAX_FAILURES
within THROTTLE_WINDOW (since the first) the password is not even checked.
"""

from __future__ import annotations

import hashlib
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from coach import review_store, store
from coach.review_store import Reviewer
from coach.store import hash_token, utcnow

MAX_FAILURES = 5
THROTTLE_WINDOW = timedelta(minutes=15)
LOGIN_LIFETIME = timedelta(hours=8)
TOKEN_PREFIX = "coach_rv_"

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Checked against for an unknown email, so it takes as long as a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(16))


class ReviewerError(Exception):
    """A reviewer-account operation that cannot be done."""


class UnknownReviewer(ReviewerError):
    """No reviewer with that email."""


class ReviewerExists(ReviewerError):
    """A reviewer with that email already exists."""


class InvalidLogin(ReviewerError):
    """Wrong email or password (which of the two is not said)."""


class LoginThrottled(ReviewerError):
    """Too many failed logins for this email from this client."""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
        raise ReviewerError(f"not an email address: {email!r}")
    return email


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- accounts -------------------------------------------------------------------------------


def add_reviewer(*, db: Session, email: str, password: str | None = None) -> tuple[Reviewer, str]:
    """Create an account; returns it with its password (generated when none is given)."""
    email = normalise_email(email)
    if review_store.get_reviewer_by_email(db=db, email=email) is not None:
        raise ReviewerExists(f"a reviewer {email} already exists")
    password = password or generate_password()
    if len(password) < 10:
        raise ReviewerError("a password needs at least 10 characters")
    reviewer = Reviewer(email=email, password_hash=hash_password(password))
    db.add(reviewer)
    db.flush()
    return reviewer, password


def require_reviewer(*, db: Session, email: str) -> Reviewer:
    reviewer = review_store.get_reviewer_by_email(db=db, email=normalise_email(email))
    if reviewer is None:
        raise UnknownReviewer(f"no reviewer {email}")
    return reviewer


def remove_reviewer(*, db: Session, email: str) -> None:
    """Delete the account and its tokens; overrides and comments keep the email as their author."""
    review_store.delete_reviewer(db=db, reviewer=require_reviewer(db=db, email=email))


def issue_token(*, db: Session, email: str) -> str:
    """A new API token for the reviewer. Only its hash is stored: this is the one time it is seen."""
    reviewer = require_reviewer(db=db, email=email)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.add(review_store.ReviewerToken(reviewer_id=reviewer.id, token_hash=hash_token(token)))
    db.flush()
    return token


def reviewer_for_token(*, db: Session, token: str | None) -> Reviewer | None:
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    return review_store.reviewer_for_token_hash(db=db, token_hash=hash_token(token))


# --- login ----------------------------------------------------------------------------------


def throttle_key(email: str, client: str) -> str:
    return hashlib.sha256(f"{email.strip().lower()}\x00{client}".encode()).hexdigest()


def authenticate(*, db: Session, email: str, password: str, client: str) -> Reviewer:
    """The reviewer these credentials open; raises LoginThrottled or InvalidLogin.

    The attempt is counted (and committed) before the password is checked: of many attempts at
    once, no more than MAX_FAILURES get that far. A right password clears the count."""
    key = throttle_key(email, client)
    now = utcnow()
    with store.write_lock(db.get_bind().engine):
        attempts = review_store.count_login_attempt(db=db, key=key, now=now, window=THROTTLE_WINDOW)
        db.commit()
    if attempts > MAX_FAILURES:
        raise LoginThrottled("too many failed logins; try again in 15 minutes")
    reviewer = review_store.get_reviewer_by_email(db=db, email=email.strip().lower())
    if not verify_password(reviewer.password_hash if reviewer else _dummy_hash(), password) or reviewer is None:
        raise InvalidLogin("wrong email or password")
    review_store.clear_login_attempts(db=db, key=key)
    reviewer.last_login_at = now
    db.add(reviewer)
    db.commit()
    return reviewer


def start_login(*, db: Session, reviewer: Reviewer) -> str:
    """A new login for the reviewer; returns the secret its cookie holds (only its hash is stored)."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    review_store.prune_logins(db=db, now=now)
    db.add(review_store.ReviewerLogin(
        reviewer_id=reviewer.id, secret_hash=hash_token(secret), expires_at=now + LOGIN_LIFETIME
    ))
    db.commit()
    return secret


def reviewer_for_login(*, db: Session, secret: object) -> Reviewer | None:
    """The reviewer of a live login; None for an ended, expired, unknown or missing one."""
    if not isinstance(secret, str) or not secret:
        return None
    return review_store.reviewer_for_login_hash(db=db, secret_hash=hash_token(secret), now=utcnow())


def end_login(*, db: Session, secret: object) -> None:
    if isinstance(secret, str) and secret:
        review_store.delete_login(db=db, secret_hash=hash_token(secret))
        db.commit()


# --- for the CLI ----------------------------------------------------------------------------


@contextmanager
def open_db(engine: Engine | None = None) -> Iterator[Session]:
    """A database session on the configured database (migrated first for the default SQLite), committed on exit."""
    if engine is None:
        from coach.config import get_settings
        from coach.migrations import prepare_database
        from coach.store import make_engine

        settings = get_settings()
        engine = make_engine(settings.sqlalchemy_url)
        prepare_database(engine, settings)
    with Session(engine, expire_on_commit=False) as db:
        yield db
        db.commit()


def cli_add(args) -> int:
    """`coach reviewers add EMAIL [--password-prompt]`: prints the generated password."""
    password = None
    if args.password_prompt:
        import getpass

        password = getpass.getpass("Password (at least 10 characters): ")
        if password != getpass.getpass("Again: "):
            print("the passwords differ", file=sys.stderr)
            return 1
    with _cli_errors(), open_db() as db:
        reviewer, password = add_reviewer(db=db, email=args.email, password=password)
    print(f"reviewer {reviewer.email} added")
    if not args.password_prompt:
        print(f"password: {password}")
    return 0


def cli_list(_args) -> int:
    with open_db() as db:
        reviewers = review_store.list_reviewers(db=db)
    for reviewer in reviewers:
        last = reviewer.last_login_at.isoformat(timespec="minutes") if reviewer.last_login_at else "never"
        print(f"{reviewer.email}\tadded {reviewer.created_at.isoformat(timespec='minutes')}\tlast login {last}")
    if not reviewers:
        print("no reviewers yet: add one with `coach reviewers add EMAIL`")
    return 0


def cli_remove(args) -> int:
    with _cli_errors(), open_db() as db:
        remove_reviewer(db=db, email=args.email)
    print(f"reviewer {args.email} removed")
    return 0


def cli_token(args) -> int:
    with _cli_errors(), open_db() as db:
        token = issue_token(db=db, email=args.email)
    print(token)
    print("this token is shown once; send it as `Authorization: Bearer <token>` to /api/review/*", file=sys.stderr)
    return 0


def calibration_rows() -> list[dict]:
    """`coach eval --from-reviews`: the machine's overall scores against the reviewers'."""
    with open_db() as db:
        return review_store.review_labels(db=db)


@contextmanager
def _cli_errors():
    try:
        yield
    except ReviewerError as exc:
        raise SystemExit(f"error: {exc}") from exc
