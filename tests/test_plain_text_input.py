"""Text no one types (NUL, a lone surrogate) gets a clear 422 wherever it comes in, on SQLite and
PostgreSQL, and loses nothing; page numbers are bounded."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from coach.store import InterviewSession
from tests.support.api import auth, start
from tests.support.review import api, login, make_reviewer

NUL, SURROGATE = "\u0000", "\ud800"


def raw_json(body: dict) -> bytes:
    """JSON with the escapes a client may send (httpx cannot encode a lone surrogate itself)."""
    return json.dumps(body).encode()


def assert_refused(response, field: str) -> None:
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert errors and all(e["type"] == "string_not_plain_text" for e in errors)
    assert field in [e["loc"][-1] for e in errors] and "NUL" in errors[0]["msg"]


def stored_sessions(client) -> int:
    with Session(client.app.state.service.db_engine) as db:
        return len(db.exec(select(InterviewSession)).all())


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_an_answer_with_bad_text_is_refused_and_the_session_goes_on(client, bad):
    session = start(client)
    url = f"/api/sessions/{session['id']}/answers"
    for headers in ({"Content-Type": "application/json"}, {}):  # FastAPI reads a body without a type as JSON
        refused = client.post(url, content=raw_json({"text": f"I would use a queue {bad} here"}),
                              headers={**auth(session["token"]), **headers})
        assert_refused(refused, "text")
    fine = client.post(url, json={"text": "I would use a queue here"}, headers=auth(session["token"]))
    assert fine.status_code == 200, fine.text


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_a_session_with_a_bad_job_description_is_not_created(client, bad):
    response = client.post("/api/sessions", content=raw_json({"job_description": f"Python {bad} Go"}),
                           headers={"Content-Type": "application/json"})
    assert_refused(response, "job_description")
    assert stored_sessions(client) == 0


def test_a_bad_key_is_refused_with_an_error_that_can_be_sent(client):
    response = client.post("/api/sessions", content=raw_json({SURROGATE: 1, "stages": [f"x{NUL}"]}),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["detail"]} == {("body", "?"), ("body", "stages", 0)}


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_the_start_form_with_a_nul_creates_nothing(client, encoding):
    form = {"stages": "phone_screen", "job_description": f"Python{NUL}Go"}
    if encoding == "urlencoded":
        response = client.post("/sessions", data=form, follow_redirects=False)
    else:
        response = client.post("/sessions", files={k: (None, v) for k, v in form.items()}, follow_redirects=False)
    assert_refused(response, "job_description")
    assert stored_sessions(client) == 0


def test_a_login_email_with_a_nul_is_a_422_not_a_500(client):
    response = client.post("/review/login", data={"email": f"rev{NUL}@example.com", "password": "x" * 12})
    assert_refused(response, "email")


def test_review_filters_with_bad_text_are_refused(client):
    account = make_reviewer(client.app.state.service.db_engine)
    for query in ({"seniority": f"senior{NUL}"}, {"scorer": "%ED%A0%80" + NUL}):
        assert_refused(client.get("/api/review/sessions", params=query, headers=api(account)), next(iter(query)))
    assert_refused(client.get("/review/sessions?stage=%00", follow_redirects=False), "stage")
    assert client.get("/api/review/sessions", params={"seniority": "senior"}, headers=api(account)).status_code == 200


def test_a_nul_in_the_path_is_a_422(client):
    session = start(client)
    assert_refused(client.get(f"/api/sessions/{session['id']}%00", headers=auth(session["token"])), "path")


def test_a_huge_page_number_is_a_422_on_the_api_and_ignored_on_the_page(client):
    account = make_reviewer(client.app.state.service.db_engine)
    huge = str(10**18)
    response = client.get("/api/review/sessions", params={"page": huge}, headers=api(account))
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "page"]
    assert client.get("/api/review/sessions", params={"page": "1000000"}, headers=api(account)).json()["items"] == []
    login(client, account)
    page = client.get("/review/sessions", params={"page": huge})
    assert page.status_code == 200 and "ignored the filters" in page.text and "page" in page.text
