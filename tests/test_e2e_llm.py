"""End to end over real HTTP: the app on uvicorn, the LLM played by tests/support/fake_llm.py.

A full interview streams LLM-written turns over SSE and grades with the LLM; with 30% of LLM
calls failing, every session still completes and every answer ends graded, labelled by who
graded it; in interview mode the background grader grades every answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from coach.api.app import create_app
from coach.config import Settings
from coach.scoring.judge import PROMPT_VERSION
from tests.support.answers import strong_answer
from tests.support.fake_llm import FakeLLM, running, serve

STAGES = ["phone_screen", "coding", "system_design", "behavioral"]


def llm_settings(tmp_path, llm_url: str, **overrides) -> Settings:
    values = {
        "data_dir": tmp_path / "data", "OPENAI_API_KEY": "sk-fake-key", "OPENAI_BASE_URL": llm_url,
        "model": "fake-interviewer", "judge_model": "fake-judge", "llm_timeout_seconds": 0.5,
        "llm_backoff_seconds": 0, "llm_max_retry_seconds": 10, "llm_max_attempts": 3, **overrides,
    }
    return Settings(**values)


@contextmanager
def coach_server(fake: FakeLLM, tmp_path, **overrides) -> Iterator[httpx.Client]:
    with running(fake) as llm_url:
        settings = llm_settings(tmp_path, llm_url, **overrides)
        with serve(create_app(settings)) as url, httpx.Client(base_url=url, timeout=30) as client:
            yield client


def events(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    """(event, data) pairs from an SSE response, read from its `event:` and `data:` lines."""
    event, data = None, []
    for line in response.iter_lines():
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())
        elif not line and data:
            yield event or "message", json.loads("\n".join(data))
            event, data = None, []


def start(client: httpx.Client, **body) -> dict:
    response = client.post("/api/sessions", json={"track": "backend-developer", "seniority": "senior", **body})
    assert response.status_code == 201, response.text
    return response.json()


def auth(session: dict) -> dict:
    return {"Authorization": f"Bearer {session['token']}"}


def answer_streaming(client: httpx.Client, session: dict, text: str) -> tuple[list[str], dict]:
    tokens, done = [], None
    with client.stream("POST", f"/api/sessions/{session['id']}/answers/stream", json={"text": text},
                       headers=auth(session)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for event, data in events(response):
            if event == "token":
                tokens.append(data["text"])
            elif event == "done":
                done = data
    assert done is not None, "the stream ended without its done event"
    return tokens, done


def run_interview(client: httpx.Client, kb, session: dict) -> list[tuple[list[str], dict]]:
    results, question = [], session["question"]
    for _ in range(60):
        tokens, done = answer_streaming(client, session, strong_answer(kb, question["id"]))
        results.append((tokens, done))
        if done["done"]:
            return results
        question = done["question"]
    raise AssertionError("the interview never finished")


def transcript(client: httpx.Client, session: dict) -> dict:
    response = client.get(f"/api/sessions/{session['id']}", headers=auth(session))
    assert response.status_code == 200
    return response.json()


def test_a_full_interview_streams_llm_turns_and_llm_grades(tmp_path, kb):
    fake = FakeLLM()
    with coach_server(fake, tmp_path) as client:
        session = start(client, seed=3, stages=STAGES)
        opening = session["messages"][0]
        assert not opening["offline"] and opening["text"].startswith("Hello and welcome")

        results = run_interview(client, kb, session)
        stages_seen = {done["stage"] for _, done in results[:-1]}
        assert stages_seen == set(STAGES)
        for tokens, done in results:
            assert len(tokens) > 1, "the reply came in one piece, not streamed"
            assert "".join(tokens) == done["reply"]["text"]
            grade = done["grade"]
            assert grade["status"] == "done" and grade["scorer"] == "llm", grade
            assert grade["model"] == "fake-judge" and grade["prompt_version"] == PROMPT_VERSION
            assert grade["rubric_version"] and grade["latency_ms"] > 0
            assert grade["prompt_tokens"] > 0 and grade["completion_tokens"] > 0
            assert grade["fallback_reason"] is None

        messages = transcript(client, session)["messages"]
        assert all(not m["offline"] for m in messages if m["role"] == "interviewer")
        answers = [m for m in messages if m["role"] == "candidate"]
        for message in answers:
            for criterion in message["grade"]["criteria"]:
                for quote in criterion["evidence"]:
                    assert quote in message["text"] or any(quote in a["text"] for a in answers)

    streamed = [r for r in fake.requests if r.get("stream")]
    judged = [r for r in fake.requests if r.get("response_format")]
    assert len(streamed) == len(results) + 1 and len(judged) == len(results)
    assert all(r["response_format"]["json_schema"]["strict"] for r in judged)
    assert all(r["model"] == "fake-judge" for r in judged) and all(r["model"] == "fake-interviewer" for r in streamed)


def test_with_30_percent_of_llm_calls_failing_nothing_is_lost(tmp_path, kb):
    fake = FakeLLM(failure_rate=0.3, seed=7, hang_seconds=1.0,
                   faults=("429", "500", "timeout", "malformed", "broken_stream"))
    fake.enqueue("ok", "429", "500", "timeout", "broken_stream")  # each kind at least once, then 30% at random
    with coach_server(fake, tmp_path, llm_timeout_seconds=0.3) as client:
        sessions = [start(client, seed=seed, stages=STAGES) for seed in (1, 2, 3)]
        runs = [run_interview(client, kb, session) for session in sessions]
        for session, results in zip(sessions, runs, strict=True):
            assert results[-1][1]["done"]
            body = transcript(client, session)
            assert body["status"] == "finished"
            answers = [m for m in body["messages"] if m["role"] == "candidate"]
            assert len(answers) == len(results)  # every answer sent is stored
            for message in answers:
                grade = message["grade"]
                assert grade is not None and grade["status"] == "done", grade
                assert grade["scorer"] in ("llm", "offline-fallback")
                assert (grade["scorer"] == "offline-fallback") == (grade["fallback_reason"] is not None)
                assert grade["prompt_version"] == PROMPT_VERSION and 1.0 <= grade["overall"] <= 5.0
            report = client.get(f"/api/sessions/{session['id']}/report", headers=auth(session))
            assert report.status_code == 200

    assert {"429", "500", "timeout", "malformed", "broken_stream"} <= set(fake.outcomes), fake.outcomes
    assert 0.15 < fake.outcomes.count("ok") / len(fake.outcomes) < 0.85 or len(fake.outcomes) < 20


def test_interview_mode_grades_every_answer_in_the_background(tmp_path, kb):
    fake = FakeLLM(failure_rate=0.3, seed=11, hang_seconds=1.0, latency=0.02)
    with coach_server(fake, tmp_path, llm_timeout_seconds=0.3) as client:
        session = start(client, seed=4, stages=STAGES, mode="interview")
        results = run_interview(client, kb, session)
        assert all(done["grade"] is None for _, done in results)  # nothing shown during the interview
        deadline = time.monotonic() + 30
        while True:
            answers = [m for m in transcript(client, session)["messages"] if m["role"] == "candidate"]
            if all(m["grade"] and m["grade"]["status"] == "done" for m in answers):
                break
            assert time.monotonic() < deadline, answers
            time.sleep(0.1)
        assert len(answers) == len(results)
        assert all(m["grade"]["scorer"] in ("llm", "offline-fallback") for m in answers)


@pytest.mark.parametrize("fault", ["429", "500", "timeout"])
def test_an_llm_outage_never_blocks_the_candidate(tmp_path, kb, fault):
    fake = FakeLLM(failure_rate=1.0, faults=(fault,), hang_seconds=0.6)
    with coach_server(fake, tmp_path, llm_timeout_seconds=0.2, llm_max_attempts=2) as client:
        session = start(client, seed=3, stages=["phone_screen"])
        assert session["messages"][0]["offline"] is True
        tokens, done = answer_streaming(client, session, strong_answer(kb, session["question"]["id"]))
        assert done["grade"]["scorer"] == "offline-fallback" and done["grade"]["fallback_reason"]
        assert "".join(tokens) == done["reply"]["text"]
        assert transcript(client, session)["messages"][-1]["offline"] is True


def test_a_candidate_dropping_the_stream_loses_nothing(tmp_path, kb):
    fake = FakeLLM(chunk_delay=0.01, chunk_chars=4)
    with coach_server(fake, tmp_path) as client:
        session = start(client, seed=3, stages=STAGES)
        text = strong_answer(kb, session["question"]["id"])
        with client.stream("POST", f"/api/sessions/{session['id']}/answers/stream", json={"text": text},
                           headers=auth(session)) as response:
            first_event = next(events(response))
        assert first_event[0] == "token"  # the connection closes here, mid-reply

        deadline = time.monotonic() + 10
        while True:
            messages = transcript(client, session)["messages"]
            if messages[-1]["role"] == "interviewer":
                break
            assert time.monotonic() < deadline, messages
            time.sleep(0.1)
        assert [m["role"] for m in messages] == ["interviewer", "candidate", "interviewer"]
        assert messages[1]["text"] == text and messages[1]["grade"]["status"] == "done"
        assert messages[2]["text"].strip()


def test_with_the_llm_a_clarifying_question_in_system_design_is_answered_and_not_graded(tmp_path, kb):
    fake = FakeLLM()
    with coach_server(fake, tmp_path) as client:
        session = start(client, seed=2, stages=["system_design"], length="full")
        sheet = kb.sheets[session["question"]["id"]]
        _, done = answer_streaming(client, session, "How many users do we have, and what does the traffic look like?")
        assert done["reply"]["kind"] == "answer_question" and done["grade"] is None
        users = next(f for f in sheet.facts if f.about == "users" or f.about.startswith(("merchants", "services")))
        assert users.answer in done["reply"]["text"] or any(
            f.answer in done["reply"]["text"] for f in sheet.facts if f.about == "traffic")
        asked = transcript(client, session)["messages"][-2]
        assert asked["kind"] == "candidate_question" and asked["phase"] == "requirements" and asked["grade"] is None
        _, after = answer_streaming(client, session, strong_answer(kb, session["question"]["id"]))
        answer = transcript(client, session)["messages"][-2]
        assert answer["kind"] == "answer" and answer["phase"] == "requirements" and after["grade"]["status"] == "done"
        assert after["reply"]["kind"] == "phase" and not transcript(client, session)["messages"][-1]["offline"]
    prompts = [r["messages"][-1]["content"] for r in fake.requests if r.get("stream")]
    assert any(all(f.answer in p for f in sheet.facts) for p in prompts)  # the fact sheet reached the model


def test_with_the_llm_a_drill_retries_one_question_and_compares_both_attempts(tmp_path, kb):
    fake = FakeLLM()
    with coach_server(fake, tmp_path) as client:
        original = start(client, seed=3, stages=["phone_screen"], length="quick")
        question_id = original["question"]["id"]
        answer_streaming(client, original, "I would look into it and do what the team usually does.")
        assert client.post(f"/api/sessions/{original['id']}/finish", headers=auth(original)).status_code == 200

        response = client.post(f"/api/sessions/{original['id']}/drills", json={"question_id": question_id},
                               headers=auth(original))
        assert response.status_code == 201, response.text
        drill = response.json()
        assert drill["drill_of"] == original["id"] and drill["question"]["id"] == question_id
        assert not drill["messages"][0]["offline"]  # the LLM interviewer opens the drill
        _, done = answer_streaming(client, drill, strong_answer(kb, question_id))
        assert done["grade"]["scorer"] == "llm"
        client.post(f"/api/sessions/{drill['id']}/finish", headers=auth(drill))

        body = client.get(f"/api/sessions/{drill['id']}/drills", headers=auth(drill)).json()
        [comparison] = body["comparisons"]
        before, after = comparison["attempts"]
        assert [before["session_id"], after["session_id"]] == [original["id"], drill["id"]]
        assert before["score"] is not None and after["score"] is not None
        assert after["change"] == round(after["score"] - before["score"], 1)
        assert len(after["covered"]) > len(before["covered"])
