"""Nothing stored is lost: crashes, restarts, retries, concurrent submits and several workers."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from coach.api.app import create_app
from tests.support.answers import strong_answer
from tests.support.api import auth, start
from tests.support.servers import AppProcess


def env_for(settings) -> dict[str, str]:
    return {
        "COACH_DATA_DIR": str(settings.data_dir),
        "COACH_DATABASE_URL": settings.sqlalchemy_url,
        "COACH_LEASE_SECONDS": "1",
    }


def answer(base: str, session: dict, text: str) -> httpx.Response:
    return httpx.post(f"{base}/api/sessions/{session['id']}/answers", json={"text": text},
                      headers=auth(session["token"]), timeout=30)


def read(base: str, session: dict) -> dict:
    return httpx.get(f"{base}/api/sessions/{session['id']}", headers=auth(session["token"]), timeout=30).json()


def test_kill_9_mid_interview_loses_nothing(settings, kb):
    env = env_for(settings)
    with AppProcess(env) as server:
        session = httpx.post(f"{server.url}/api/sessions", timeout=30,
                             json={"seniority": "middle", "mode": "interview", "seed": 9}).json()
        question = session["question"]
        for _ in range(3):
            question = answer(server.url, session, strong_answer(kb, question["id"])).json()["question"]
        before = read(server.url, session)
        server.kill()

    with AppProcess(env) as restarted:
        after = read(restarted.url, session)
        assert [(m["role"], m["text"]) for m in after["messages"]] == [(m["role"], m["text"]) for m in before["messages"]]
        assert after["question"] == before["question"]  # it continues where it stood
        for _ in range(40):
            body = answer(restarted.url, session, strong_answer(kb, question["id"])).json()
            if body["done"]:
                break
            question = body["question"]
        report = httpx.get(f"{restarted.url}/api/sessions/{session['id']}/report", headers=auth(session["token"]),
                           timeout=60).json()
        final = read(restarted.url, session)
    assert report["pending"] == 0 and report["overall"] is not None
    candidate = [m for m in final["messages"] if m["role"] == "candidate"]
    assert candidate and all(m["grade"]["status"] == "done" for m in candidate)


def test_an_answer_stored_before_a_crash_gets_its_reply_and_grade_after(settings, kb, monkeypatch):
    with TestClient(create_app(settings)) as client:
        session = start(client, stages=["phone_screen"], mode="interview")
        service = client.app.state.service

        def crash(*_args, **_kwargs):
            raise SystemExit("the worker died after storing the answer")

        monkeypatch.setattr(service, "_respond", crash)
        with pytest.raises(SystemExit):
            service.submit_answer(session_id=session["id"], text=strong_answer(kb, session["question"]["id"]))
        monkeypatch.undo()

    with TestClient(create_app(settings)) as client:
        resumed = client.get(f"/api/sessions/{session['id']}", headers=auth(session["token"])).json()
        assert [m["role"] for m in resumed["messages"]] == ["interviewer", "candidate", "interviewer"]
        client.post(f"/api/sessions/{session['id']}/finish", headers=auth(session["token"]))
        report = client.get(f"/api/sessions/{session['id']}/report", headers=auth(session["token"])).json()
    assert report["pending"] == 0 and report["stages"][0]["answered"] == 1


def test_concurrent_submits_never_skip_or_duplicate_a_question(settings, kb):
    with TestClient(create_app(settings)) as client:
        session = start(client, stages=["technical"], seed=2)
        url, headers = f"/api/sessions/{session['id']}/answers", auth(session["token"])
        text = strong_answer(kb, session["question"]["id"])
        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(lambda _: client.post(url, json={"text": text}, headers=headers).status_code, range(4)))
        transcript = client.get(f"/api/sessions/{session['id']}", headers=headers).json()
    assert codes.count(200) >= 1 and set(codes) <= {200, 409}
    roles = [m["role"] for m in transcript["messages"]]
    assert roles == ["interviewer", "candidate"] * codes.count(200) + ["interviewer"]
    asked = [m["question_id"] for m in transcript["messages"] if m["role"] == "interviewer" and m["kind"] == "question"]
    assert len(asked) == len(set(asked))


def test_two_workers_serve_one_session_alternately(postgres_url, tmp_path, kb):
    """Several workers share sessions through PostgreSQL: any worker serves any request."""
    from coach.config import Settings

    env = env_for(Settings(data_dir=tmp_path / "data", database_url=postgres_url))
    with AppProcess(env) as first, AppProcess(env) as second:
        session = httpx.post(f"{first.url}/api/sessions", json={"seed": 4}, timeout=30).json()
        question, servers = session["question"], [first.url, second.url]
        for turn in range(40):
            body = answer(servers[turn % 2], session, strong_answer(kb, question["id"]))
            assert body.status_code == 200, body.text
            if body.json()["done"]:
                break
            question = body.json()["question"]
        assert read(first.url, session) == read(second.url, session)
        assert read(second.url, session)["status"] == "finished"


def test_kill_9_while_the_llm_grades_then_the_grade_completes_after_restart(settings, kb):
    """The server dies holding a grade claim in the middle of a slow LLM call; the restarted one takes it over."""
    from tests.support.fake_llm import FakeLLM, running

    slow = FakeLLM(latency=3.0)
    with running(slow) as llm_url:
        env = {**env_for(settings), "OPENAI_API_KEY": "sk-fake", "OPENAI_BASE_URL": llm_url,
               "COACH_LLM_TIMEOUT_SECONDS": "10", "COACH_LLM_BACKOFF_SECONDS": "0"}
        with AppProcess(env) as server:
            session = httpx.post(f"{server.url}/api/sessions", timeout=30,
                                 json={"mode": "interview", "stages": ["phone_screen"], "seed": 2}).json()
            assert answer(server.url, session, strong_answer(kb, session["question"]["id"])).status_code == 200
            for _ in range(100):  # wait until the background worker is inside the judge call
                if any(r.get("response_format") for r in slow.requests):
                    break
                time.sleep(0.05)
            server.kill()
        slow.latency = 0.0
        with AppProcess(env) as restarted:
            httpx.post(f"{restarted.url}/api/sessions/{session['id']}/finish", headers=auth(session["token"]), timeout=30)
            for _ in range(100):
                grade = read(restarted.url, session)["messages"][1]["grade"]
                if grade["status"] == "done":
                    break
                time.sleep(0.1)
    assert grade["status"] == "done" and grade["scorer"] in ("llm", "offline-fallback")


def test_metrics_add_up_across_workers(tmp_path):
    """`coach serve --workers 2`: whichever worker answers /metrics counts every worker's requests."""
    import os
    import subprocess
    import sys

    from tests.support.servers import free_port

    port = free_port()
    env = {**os.environ, "COACH_DATA_DIR": str(tmp_path / "data")}
    env.pop("COACH_DATABASE_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "coach.cli", "serve", "--workers", "2", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                httpx.get(f"{base}/readyz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        for _ in range(20):
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        counts = set()
        for _ in range(6):  # new connections, so more than one worker answers
            text = httpx.get(f"{base}/metrics", timeout=5, headers={"Connection": "close"}).text
            line = next(row for row in text.splitlines()
                        if row.startswith('coach_http_request_seconds_count{') and 'route="/healthz"' in row)
            counts.add(float(line.rsplit(" ", 1)[1]))
    finally:
        server.terminate()
        server.wait(15)
    assert counts == {20.0}
