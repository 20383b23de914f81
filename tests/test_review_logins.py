"""Reviewer logins live on the server: logout and removing the account end them, and a removed
account's cookie never opens the account added after it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import select

from coach import review_store, reviewers
from coach.api.review_pages import COOKIE
from tests.support.review import csrf_of, login, make_reviewer


def saved_cookie(client) -> str:
    return client.cookies[COOKIE]


def opens_the_sessions_page(client, cookie: str) -> str | None:
    """The email the reviewer pages greet with this cookie, or None when they send it to log in."""
    browser = TestClient(client.app)  # another browser with only this cookie
    browser.cookies.set(COOKIE, cookie)
    response = browser.get("/review/sessions", follow_redirects=False)
    if response.status_code == 303:
        assert response.headers["location"].startswith("/review/login")
        return None
    assert response.status_code == 200
    return next(email for email in ("a@example.com", "b@example.com", "rev@example.com") if email in response.text)


def test_after_logout_the_saved_cookie_opens_nothing(client):
    account = make_reviewer(client.app.state.service.db_engine)
    csrf = login(client, account)
    cookie = saved_cookie(client)
    assert opens_the_sessions_page(client, cookie) == account.email
    response = client.post("/review/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert opens_the_sessions_page(client, cookie) is None


def test_logging_out_one_browser_keeps_the_others_logged_in(client):
    account = make_reviewer(client.app.state.service.db_engine)
    other = TestClient(client.app)
    login(other, account)
    csrf = login(client, account)
    client.post("/review/logout", data={"csrf_token": csrf})
    assert opens_the_sessions_page(client, saved_cookie(other)) == account.email


def test_removing_a_reviewer_ends_their_logins(client):
    engine = client.app.state.service.db_engine
    account = make_reviewer(engine)
    login(client, account)
    cookie = saved_cookie(client)
    with reviewers.open_db(engine) as db:
        reviewers.remove_reviewer(db=db, email=account.email)
    assert opens_the_sessions_page(client, cookie) is None
    with reviewers.open_db(engine) as db:
        assert db.exec(select(review_store.ReviewerLogin)).all() == []


def test_a_removed_reviewers_cookie_does_not_open_the_next_account(client):
    engine = client.app.state.service.db_engine
    login(client, make_reviewer(engine, email="a@example.com"))
    cookie = saved_cookie(client)
    with reviewers.open_db(engine) as db:
        reviewers.remove_reviewer(db=db, email="a@example.com")
    make_reviewer(engine, email="b@example.com")  # on SQLite it may get A's old id
    assert opens_the_sessions_page(client, cookie) is None


def test_an_expired_login_opens_nothing(client, monkeypatch):
    account = make_reviewer(client.app.state.service.db_engine)
    login(client, account)
    later = reviewers.utcnow() + reviewers.LOGIN_LIFETIME
    monkeypatch.setattr(reviewers, "utcnow", lambda: later)
    assert opens_the_sessions_page(client, saved_cookie(client)) is None
    page = client.get("/review/login")
    assert page.status_code == 200 and csrf_of(page)  # the login form, not a redirect into the area
