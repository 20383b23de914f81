"""Calls the candidate API makes in nearly every test: start a session, authorise as its candidate."""

from __future__ import annotations


def start(client, **body) -> dict:
    response = client.post("/api/sessions", json={"track": "backend-developer", "seniority": "senior", **body})
    assert response.status_code == 201, response.text
    return response.json()


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
