"""The fake LLM of tests/support/fake_llm.py, served in its own process with a timed request log.

    python -m bench.fake_server --port 8123 --latency 0.5 --per-token

The benchmark runs the fake apart from the load generator, so the two do not share a GIL.
A thin ASGI wrapper records, for every chat request, when it arrived, how long the fake took
to answer it (until the last byte of the body, streaming included) and the request body.
`GET /bench/log` returns that log (bodies parsed into messages) once a phase is over, so
parsing costs nothing while the benchmark measures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/fake_server.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvicorn

from tests.support.fake_llm import FakeLLM


class TimedLog:
    """ASGI middleware: times every request to the wrapped app and keeps its raw body."""

    def __init__(self, app):
        self.app = app
        self.records: list[tuple[float, float, bytes]] = []  # (arrived, ms, body)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == "/bench/log":
            return await self._send_log(send)
        arrived, started, body = time.time(), time.perf_counter(), bytearray()

        async def receive_and_keep():
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        async def send_and_time(message):
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.records.append((arrived, (time.perf_counter() - started) * 1000, bytes(body)))

        await self.app(scope, receive_and_keep, send_and_time)

    async def _send_log(self, send):
        payload = json.dumps([
            {"arrived": arrived, "ms": ms, "body": json.loads(body)} for arrived, ms, body in self.records
        ]).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds the fake waits before answering")
    parser.add_argument("--per-token", action="store_true", help="stream one event per token, as real providers do")
    args = parser.parse_args(argv)
    app = TimedLog(FakeLLM(latency=args.latency, per_token=args.per_token).app)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
