"""The LLM adapter at the HTTP level (respx): request bodies, retries, and nothing escaping the mock."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest
import respx
from respx.models import AllMockedAssertionError

from coach import llm
from coach.config import Settings

BASE = "https://llm.test/v1"


def llm_settings(**overrides) -> Settings:
    values = {
        "OPENAI_API_KEY": "sk-test-not-real", "OPENAI_BASE_URL": BASE, "llm_backoff_seconds": 0,
        "llm_timeout_seconds": 5, "llm_max_attempts": 4, **overrides,
    }
    return Settings(**values)


def completion_json(text: str = "Hello there.", model: str = "gpt-4o-mini") -> dict:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
    }


def sse_body(*pieces: str, usage: bool = True) -> bytes:
    def event(data) -> str:
        return f"data: {json.dumps(data)}\n\n"

    base = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini"}
    lines = [event({**base, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}) for p in pieces]
    lines.append(event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    if usage:
        lines.append(event({**base, "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 4,
                                                              "total_tokens": 24}}))
    lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def call(settings: Settings, **kwargs) -> llm.LLMResult:
    return llm.chat(
        llm.make_client(settings), model=settings.model, messages=[{"role": "user", "content": "hi"}],
        sampling=llm.Sampling.from_settings(settings), policy=llm.RetryPolicy.from_settings(settings), **kwargs,
    )


@pytest.fixture
def mock():
    """A respx router that fails the test if any request escapes it or any route goes unused."""
    with respx.mock(assert_all_mocked=True, assert_all_called=True) as router:
        yield router


def sent(route) -> dict:
    return json.loads(route.calls.last.request.content)


# --- the SDK and the mock ----------------------------------------------------------------------


def test_the_sdk_sends_through_httpx_which_respx_intercepts():
    # openai 3.x moved to httpx2, which respx does not see: every mocked test would hit the network.
    assert int(openai.__version__.split(".")[0]) == 2
    client = llm.make_client(llm_settings())
    assert isinstance(client._client, httpx.Client)
    assert client.max_retries == 0  # retries live in coach.llm only
    assert client.timeout.read == 5


def test_a_call_that_escapes_the_mock_fails_the_test():
    with respx.mock(assert_all_mocked=True, assert_all_called=True) as mock:
        route = mock.post(f"{BASE}/chat/completions").respond(json=completion_json())
        call(llm_settings())
    assert route.call_count == 1


def test_an_unmocked_host_raises_instead_of_reaching_the_network():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        mock.post(f"{BASE}/chat/completions").respond(json=completion_json())
        with pytest.raises(llm.LLMError) as raised:
            call(llm_settings(OPENAI_BASE_URL="https://not-mocked.invalid/v1", llm_max_attempts=1))
    causes, exc = [], raised.value
    while exc is not None:
        causes.append(exc)
        exc = exc.__cause__ or exc.__context__
    assert any(isinstance(c, AllMockedAssertionError) for c in causes)


# --- what is sent ------------------------------------------------------------------------------


def test_sampling_is_sent_explicitly_and_usage_comes_back(mock):
    route = mock.post(f"{BASE}/chat/completions").respond(json=completion_json("Fine."))
    result = call(llm_settings(llm_temperature=0.1, llm_max_tokens=321, llm_seed=42))
    body = sent(route)
    assert body["temperature"] == 0.1 and body["max_tokens"] == 321 and body["seed"] == 42
    assert body["model"] == "gpt-4o-mini" and body["messages"] == [{"role": "user", "content": "hi"}]
    assert route.calls.last.request.headers["authorization"] == "Bearer sk-test-not-real"
    assert (result.text, result.prompt_tokens, result.completion_tokens, result.retries) == ("Fine.", 11, 3, 0)
    assert result.latency_ms > 0


def test_no_seed_is_sent_when_none_is_set(mock):
    route = mock.post(f"{BASE}/chat/completions").respond(json=completion_json())
    call(llm_settings(llm_seed=None))
    assert "seed" not in sent(route)


# --- retries -----------------------------------------------------------------------------------


def test_timeouts_429_and_5xx_are_retried_until_success(mock):
    route = mock.post(f"{BASE}/chat/completions").mock(side_effect=[
        httpx.ConnectTimeout("connect timed out"),
        httpx.Response(429, headers={"Retry-After": "0"}, json={"error": {"message": "slow down"}}),
        httpx.Response(500, json={"error": {"message": "oops"}}),
        httpx.Response(200, json=completion_json("At last.")),
    ])
    result = call(llm_settings())
    assert route.call_count == 4
    assert result.text == "At last." and result.retries == 3


def test_attempts_are_bounded(mock):
    route = mock.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(503))
    with pytest.raises(llm.LLMError) as raised:
        call(llm_settings(llm_max_attempts=3))
    assert route.call_count == 3
    assert raised.value.status == 503 and raised.value.retries == 2


def test_insufficient_quota_is_not_retried(mock):
    error = {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota",
                       "code": "insufficient_quota"}}
    route = mock.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(429, json=error))
    with pytest.raises(llm.LLMError) as raised:
        call(llm_settings())
    assert route.call_count == 1 and raised.value.status == 429 and raised.value.retries == 0


def test_client_errors_are_not_retried(mock):
    route = mock.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(401, json={"error": {}}))
    with pytest.raises(llm.LLMError):
        call(llm_settings())
    assert route.call_count == 1


def test_retry_after_is_honoured(mock):
    route = mock.post(f"{BASE}/chat/completions").mock(side_effect=[
        httpx.Response(429, headers={"retry-after-ms": "150"}),
        httpx.Response(200, json=completion_json()),
    ])
    started = time.perf_counter()
    call(llm_settings())
    assert route.call_count == 2
    assert time.perf_counter() - started >= 0.15


def test_a_retry_after_beyond_the_time_budget_gives_up_at_once(mock):
    route = mock.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(429, headers={"Retry-After": "30"}))
    started = time.perf_counter()
    with pytest.raises(llm.LLMError):
        call(llm_settings(llm_max_retry_seconds=5))
    assert route.call_count == 1
    assert time.perf_counter() - started < 2


def test_retry_after_accepts_seconds_and_http_dates():
    request = httpx.Request("POST", BASE)
    assert llm.retry_after_seconds(openai.RateLimitError(
        "x", response=httpx.Response(429, headers={"Retry-After": "2"}, request=request), body=None)) == 2
    dated = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, request=request)
    assert llm.retry_after_seconds(openai.RateLimitError("x", response=dated, body=None)) == 0
    assert llm.retry_after_seconds(ValueError("no response")) is None


# --- streaming ---------------------------------------------------------------------------------


def stream(settings: Settings) -> llm.ChatStream:
    return llm.stream_chat(
        llm.make_client(settings), model=settings.model, messages=[{"role": "user", "content": "hi"}],
        sampling=llm.Sampling.from_settings(settings), policy=llm.RetryPolicy.from_settings(settings),
    )


def test_a_stream_yields_pieces_then_reports_usage(mock):
    route = mock.post(f"{BASE}/chat/completions").mock(side_effect=[
        httpx.Response(500),
        httpx.Response(200, content=sse_body("Hel", "lo ", "there."), headers={"content-type": "text/event-stream"}),
    ])
    chat_stream = stream(llm_settings())
    assert list(chat_stream) == ["Hel", "lo ", "there."]
    body = sent(route)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.2 and body["max_tokens"] == 1200
    result = chat_stream.result
    assert (result.text, result.prompt_tokens, result.completion_tokens, result.retries) == ("Hello there.", 20, 4, 1)


def test_an_empty_stream_is_an_error(mock):
    mock.post(f"{BASE}/chat/completions").respond(content=sse_body(usage=False),
                                                   headers={"content-type": "text/event-stream"})
    with pytest.raises(llm.LLMError, match="empty"):
        list(stream(llm_settings()))


def test_a_stream_broken_after_text_raises_without_retrying(mock):
    class Broken(httpx.SyncByteStream):
        def __iter__(self):
            yield sse_body("Partial ", "answer", usage=False).split(b"\n\n")[0] + b"\n\n"
            raise httpx.RemoteProtocolError("peer closed connection")

    route = mock.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, stream=Broken(), headers={"content-type": "text/event-stream"})
    )
    pieces = []
    with pytest.raises(llm.LLMError, match="stream broke"):
        for piece in stream(llm_settings()):
            pieces.append(piece)
    assert pieces == ["Partial "] and route.call_count == 1


class Chunks(httpx.SyncByteStream):
    """The body in the given pieces, as a network might cut it."""

    def __init__(self, pieces: list[bytes]):
        self.pieces = pieces

    def __iter__(self):
        yield from self.pieces


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_a_stream_cut_anywhere_with_any_line_ending_reads_the_same(mock, newline, size):
    """Events split across chunks (a CRLF, a UTF-8 character too), comments, other fields and
    multi-line data; only CR and LF end a line (U+2028 inside a JSON string does not)."""
    body = sse_body("Hé", "llo", "\u2028 there") + b": keep-alive\n\nevent: ignored\nid: 7\n\n"
    body = body.replace(b"\\u00e9", "é".encode()).replace(b"\\u2028", "\u2028".encode())  # raw UTF-8, as sent
    body = body.replace(b'data: {"id"', b'data: {"id"\ndata: ', 1)  # one event's JSON on two data lines
    body = body.replace(b"\n", newline)
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    mock.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, stream=Chunks(pieces), headers={"content-type": "text/event-stream"}))
    chat_stream = stream(llm_settings())
    assert list(chat_stream) == ["Hé", "llo", "\u2028 there"]
    assert chat_stream.result.completion_tokens == 4
