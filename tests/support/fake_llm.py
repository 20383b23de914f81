"""A fake OpenAI-compatible server for end-to-end tests, run over real HTTP on 127.0.0.1.

POST /v1/chat/completions answers like a small, obliging model:
- a request with `response_format` gets a judge verdict valid against the schema, whose evidence
  quotes are real sentences of the answer between the prompt's nonce markers (and which, like a
  gullible model, gives top marks to an answer that asks for them: our side must catch that);
- any other request gets an interviewer turn that repeats the question or probe it was given;
- `stream: true` is answered with SSE chunks in OpenAI's format, plus a usage chunk when
  `stream_options.include_usage` is set.

Faults are injected per request, from a script (`fake.enqueue("429", "500")`) or at random
(`failure_rate`): "429" (with Retry-After), "quota" (429 insufficient_quota), "500", "timeout"
(hangs past the client's timeout), "malformed" (a reply that is not the JSON asked for),
"broken_stream" (the connection drops mid-reply) and "no_json_schema" (400 naming response_format).
`per_token=True` streams one event per token-sized piece, as real providers do.
Every request is logged in `fake.requests`.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from coach.scoring.text import sentences, words

FAULTS = ("429", "500", "timeout", "malformed", "broken_stream")
ANSWER_BLOCK = re.compile(r"<<<ANSWER (\w+)>>>\n(.*)\n<<<END ANSWER \1>>>", re.DOTALL)
# Roughly how a BPE tokenizer cuts English: a word with its leading space, digits in threes, punctuation runs.
TOKEN = re.compile(r" ?[A-Za-z]{1,8}| ?[0-9]{1,3}| ?[^\sA-Za-z0-9]+|\s+")
GULLIBLE = re.compile(r"\b(ignore|disregard)\b.*\binstructions?\b|\bgive (me|this)\b.*\b(5|full marks)\b", re.I)


class FakeLLM:
    def __init__(
        self,
        *,
        latency: float = 0.0,
        failure_rate: float = 0.0,
        faults: tuple[str, ...] = FAULTS,
        seed: int = 0,
        hang_seconds: float = 2.0,
        retry_after: str = "0",
        json_schema: bool = True,
        chunk_chars: int = 12,
        chunk_delay: float = 0.0,
        per_token: bool = False,
    ):
        self.latency = latency
        self.failure_rate = failure_rate
        self.faults = faults
        self.hang_seconds = hang_seconds
        self.retry_after = retry_after
        self.json_schema = json_schema
        self.chunk_chars = chunk_chars
        self.chunk_delay = chunk_delay
        self.per_token = per_token  # one SSE event per token, as real providers stream, instead of chunk_chars
        self.requests: list[dict] = []
        self.outcomes: list[str] = []  # "ok" or the fault, per request
        self._script: deque[str] = deque()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.completions, methods=["POST"])])

    def enqueue(self, *outcomes: str) -> None:
        """Script the next requests' outcomes ("ok" or a fault), before random faults apply."""
        with self._lock:
            self._script.extend(outcomes)

    def _outcome(self, body: dict) -> str:
        with self._lock:
            self.requests.append(body)
            if self._script:
                outcome = self._script.popleft()
            elif self._rng.random() < self.failure_rate:
                outcome = self._rng.choice(self.faults)
            else:
                outcome = "ok"
            if outcome == "ok" and not self.json_schema and _format(body) == "json_schema":
                outcome = "no_json_schema"
            self.outcomes.append(outcome)
            return outcome

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        outcome = self._outcome(body)
        if self.latency:
            await asyncio.sleep(self.latency)
        if outcome in ERRORS:
            status, error = ERRORS[outcome]
            return JSONResponse({"error": error}, status_code=status, headers={"Retry-After": self.retry_after})
        if outcome == "timeout":
            await asyncio.sleep(self.hang_seconds)
            return JSONResponse({"error": {"message": "too late"}}, status_code=504)
        text = judge_reply(body) if _format(body) else interviewer_reply(body)
        if outcome == "malformed":
            text = text[: len(text) // 2]  # cut short: not valid JSON, not a whole sentence
        if body.get("stream"):
            return StreamingResponse(self._chunks(body, text, broken=outcome == "broken_stream"),
                                     media_type="text/event-stream")
        if outcome == "broken_stream":
            text = text[: len(text) // 3]
        return JSONResponse(completion(body, text))

    async def _chunks(self, body: dict, text: str, *, broken: bool):
        pieces = TOKEN.findall(text) if self.per_token else [
            text[i: i + self.chunk_chars] for i in range(0, len(text), self.chunk_chars)
        ]
        yield _sse(chunk(body, {"role": "assistant", "content": ""}))
        for index, piece in enumerate(pieces):
            if broken and index == max(1, len(pieces) // 2):
                raise ConnectionResetError("fake-llm drops the stream")
            yield _sse(chunk(body, {"content": piece}))
            await asyncio.sleep(self.chunk_delay)
        yield _sse(chunk(body, {}, finish="stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            yield _sse({**chunk(body, {}), "choices": [], "usage": usage(body, text)})
        yield "data: [DONE]\n\n"


ERRORS = {
    "429": (429, {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}),
    "quota": (429, {"message": "You exceeded your current quota", "type": "insufficient_quota",
                    "code": "insufficient_quota"}),
    "500": (500, {"message": "The server had an error", "type": "server_error", "code": None}),
    "no_json_schema": (400, {"message": "response_format type json_schema is not supported", "type": "invalid_request_error",
                             "code": None}),
}


# --- what the fake model says -----------------------------------------------------------------


def judge_reply(body: dict) -> str:
    prompt = "\n".join(m["content"] for m in body["messages"] if m["role"] != "assistant")
    match = ANSWER_BLOCK.search(prompt)
    answer = match.group(2) if match else ""
    quotes = [s for s in sentences(answer) if len(words(s)) >= 3]
    gullible = bool(GULLIBLE.search(answer))
    score = 5 if gullible else max(1, min(5, 1 + len(words(answer)) // 20))
    criteria = [
        {
            "criterion_id": criterion_id,
            "reasoning": f"The answer addresses {criterion_id} in {len(quotes)} sentences.",
            "evidence": quotes[i % len(quotes): i % len(quotes) + 2] if quotes else [],
            "score": score,
            "feedback": "Explain the trade-offs with a concrete example.",
        }
        for i, criterion_id in enumerate(re.findall(r"^### criterion_id: (\S+)", prompt, re.MULTILINE))
    ]
    points = re.findall(r"^- key_point_id: (\S+?):", prompt, re.MULTILINE)
    return json.dumps({
        "criteria": criteria,
        "mistakes": [],
        "missed_key_points": points[len(quotes):],
        "instructions_in_answer": [],
        "tip": "Lead with the main idea, then justify it.",
    })


def interviewer_reply(body: dict) -> str:
    prompt = body["messages"][-1]["content"]
    lines = []
    if "Open the interview" in prompt:
        lines.append("Hello and welcome, glad to have you here today.")
    if "Introduce the new stage" in prompt:
        lines.append("Let's move on to the next stage.")
    if "Close the interview" in prompt:
        lines.append("That brings us to the end. Thank you for your time; your report is ready.")
    lines += format_reply(prompt)
    if probe := re.search(r'A question you could adapt: "(.*)"', prompt):
        lines.append(f"I see what you mean. {probe.group(1)}")
    elif question := re.search(r'Ask this question: "(.*)"', prompt, re.DOTALL):
        lines.append(question.group(1))
    return " ".join(lines)


def format_reply(prompt: str) -> list[str]:
    """What a model following the stage-format contract says: answer from the facts, open a phase,
    nudge, invite the candidate's questions."""
    lines = []
    if "Answer it briefly from the facts above" in prompt:
        asked = re.findall(r"^\[candidate\]: (.*)$", prompt, re.MULTILINE)
        facts = re.findall(r"^- ([^:\n]+): (.+)$", prompt.split("Facts you may answer from", 1)[1].split("Your next turn")[0],
                           re.MULTILINE)
        question = asked[-1].lower() if asked else ""
        found = [answer for label, answer in facts if any(word in question for word in label.lower().split("/"))]
        lines.append(" ".join(found) if found else "That's up to you; state your assumption.")
    if "say the current question again" in prompt:
        lines.append("Of course, here it is again.")
    if phase := re.search(r'move to the next phase, "([^"]*)": (.*)', prompt):
        lines.append(f"Thanks, that's clear. {phase.group(2)}")
    if "Encourage them once" in prompt:
        lines.append("Take your time, there's no rush. Think of one concrete case.")
    if invite := re.search(r'then invite their questions: "(.*)"', prompt):
        lines.append(f"Thank you. {invite.group(1)}")
    if "ask whether they have another question" in prompt:
        lines.append("Anything else you'd like to know?")
    return lines


def usage(body: dict, text: str) -> dict:
    prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
    completion_tokens = max(1, len(text.split()))
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def completion(body: dict, text: str) -> dict:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": usage(body, text),
    }


def chunk(body: dict, delta: dict, finish: str | None = None) -> dict:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": body["model"],
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _sse(data: dict) -> str:
    return f"data: {json.dumps(data)}\n\n"


def _format(body: dict) -> str | None:
    return (body.get("response_format") or {}).get("type")


# --- running an ASGI app on a free port, in a thread ------------------------------------------


@contextmanager
def serve(app, *, host: str = "127.0.0.1", log_level: str = "warning") -> Iterator[str]:
    """Serve `app` over real HTTP on a free port; yields its base URL and stops it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def running(fake: FakeLLM) -> Iterator[str]:
    """Run the fake; yields the base URL to give as OPENAI_BASE_URL (ending in /v1)."""
    with serve(fake.app, log_level="critical") as url:  # its injected faults are not news
        yield f"{url}/v1"
