"""A step left half done (an answer stored with no reply after it) is finished by the next request that
touches the session, whatever it is; a step another request is answering right now is left to it."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from coach.api.app import create_app
from tests.support.answers import strong_answer
from tests.support.api import auth, start


def crash_after_storing(client, monkeypatch, session: dict, text: str, key: str | None = None) -> None:
    """Store an answer, then die before its reply, as a worker killed mid-step does."""
    service = client.app.state.service

    def crash(*_args, **_kwargs):
        raise SystemExit("the worker died after storing the answer")

    monkeypatch.setattr(service, "_respond", crash)
    with pytest.raises(SystemExit):
        service.submit_answer(session_id=session["id"], text=text, idempotency_key=key)
    monkeypatch.undo()


def roles(client, session: dict) -> list[str]:
    messages = client.get(f"/api/sessions/{session['id']}", headers=auth(session["token"])).json()["messages"]
    return [m["role"] for m in messages]


def post_answer(client, session: dict, text: str, **headers):
    return client.post(f"/api/sessions/{session['id']}/answers", json={"text": text},
                       headers={**auth(session["token"]), **headers})


def test_after_a_crash_a_new_answer_finishes_the_step_first(settings, kb, monkeypatch):
    with TestClient(create_app(settings)) as client:
        session = start(client, stages=["technical"], mode="interview")
        crash_after_storing(client, monkeypatch, session, strong_answer(kb, session["question"]["id"]))
    with TestClient(create_app(settings)) as client:  # restarted
        response = post_answer(client, session, "My answer to the next question.")
        assert response.status_code == 200, response.text
        assert roles(client, session) == ["interviewer", "candidate", "interviewer", "candidate", "interviewer"]


def test_after_a_crash_the_same_answer_sent_again_gets_its_reply(settings, kb, monkeypatch):
    text = "An answer whose reply was lost."
    with TestClient(create_app(settings)) as client:
        session = start(client, stages=["technical"], mode="interview")
        crash_after_storing(client, monkeypatch, session, text, key="k-1")
    with TestClient(create_app(settings)) as client:
        response = post_answer(client, session, text, **{"Idempotency-Key": "k-1"})
        assert response.status_code == 200, response.text
        assert response.json()["reply"]["text"]
        assert roles(client, session) == ["interviewer", "candidate", "interviewer"]


def test_after_a_client_drops_the_stream_the_next_answer_is_taken_at_once(settings, kb):
    with TestClient(create_app(settings)) as client:
        session = start(client, stages=["technical"], mode="interview")
        service = client.app.state.service
        accepted = service.accept_answer(session_id=session["id"], text=strong_answer(kb, session["question"]["id"]))
        stream = service.respond(accepted)
        next(stream)  # the reply started streaming...
        stream.close()  # ...and the client went away
        response = post_answer(client, session, "My answer to the next question.")
        assert response.status_code == 200, response.text
        assert roles(client, session) == ["interviewer", "candidate", "interviewer", "candidate", "interviewer"]


def test_a_step_being_answered_right_now_is_left_to_its_request(settings, kb):
    with TestClient(create_app(settings)) as client:
        session = start(client, stages=["technical"], mode="interview")
        service = client.app.state.service
        accepted = service.accept_answer(session_id=session["id"], text=strong_answer(kb, session["question"]["id"]))
        stream = service.respond(accepted)
        next(stream)  # still streaming: another request must not answer this step too
        assert post_answer(client, session, "Too early.").status_code == 409
        assert roles(client, session) == ["interviewer", "candidate"]
        list(stream)
        assert post_answer(client, session, "Now it is my turn.").status_code == 200


def test_a_dropped_step_is_forgotten_after_a_lease_and_still_finished_later(settings, kb):
    with TestClient(create_app(settings.model_copy(update={"lease_seconds": 0.2}))) as client:
        service = client.app.state.service
        dropped, other = (start(client, stages=["technical"], mode="interview") for _ in range(2))
        accepted = service.accept_answer(session_id=dropped["id"], text=strong_answer(kb, dropped["question"]["id"]))
        stream = service.respond(accepted)
        next(stream)
        stream.close()  # the client went away and never comes back to this session...
        time.sleep(0.3)
        assert post_answer(client, other, "An answer in another session.").status_code == 200
        assert accepted.answer.id not in service._steps  # ...so this process keeps no memory of it
        assert post_answer(client, dropped, "Back after all.").status_code == 200  # older than a lease: abandoned
        assert roles(client, dropped) == ["interviewer", "candidate", "interviewer", "candidate", "interviewer"]
