"""The LLM adapter: the only module that imports `openai`.

Any OpenAI-compatible Chat Completions endpoint works (OpenAI, Azure OpenAI, Ollama, vLLM,
llama.cpp server, LM Studio). Retries live here and only here: the SDK's own `max_retries` is 0
and tenacity retries connection errors, timeouts, 429 (except `insufficient_quota`) and 5xx with
jittered exponential backoff that honours `Retry-After`, bounded in attempts and in total time.

Every function takes its client as an argument, so tests hand it one on a mocked transport.

The SDK client holds the configuration (base URL, key, timeout) and its pooled httpx client, one
per process for both the interviewer and the judge, so calls reuse warm connections. Requests go
out on that httpx client directly, with the body as plain JSON: the SDK's own request path
(parameter transforms, option models, response models) cost about 2.8 ms of CPU per call here,
more than the rest of a turn. Error responses still become the SDK's exceptions.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any, TypeVar

import httpx
import openai
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from coach.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
Message = dict[str, str]


class LLMError(Exception):
    """The model gave no usable reply: unreachable, refused, or out of retries.

    `status` is the HTTP status when the server answered with an error, `retries` how many
    retries were spent before giving up.
    """

    def __init__(self, message: str, *, status: int | None = None, retries: int = 0, latency_ms: float = 0.0):
        super().__init__(message)
        self.status = status
        self.retries = retries
        self.latency_ms = latency_ms


@dataclass(frozen=True)
class Sampling:
    """Sampling sent explicitly on every call: servers' defaults differ (Ollama's temperature is 1.0)."""

    temperature: float
    max_tokens: int
    seed: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Sampling:
        return cls(temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens, seed=settings.llm_seed)

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.seed is not None:
            params["seed"] = self.seed
        return params


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    max_seconds: float = 60.0
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 20.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=max(1, settings.llm_max_attempts),
            max_seconds=settings.llm_max_retry_seconds,
            backoff_seconds=settings.llm_backoff_seconds,
            backoff_max_seconds=settings.llm_backoff_max_seconds,
        )


@dataclass
class LLMResult:
    """A complete reply and what it cost."""

    text: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: float = 0.0
    retries: int = 0
    finish_reason: str | None = None


def make_client(settings: Settings, http_client: httpx.Client | None = None) -> openai.OpenAI:
    """An SDK client with explicit timeouts and no retries of its own (they live in this module)."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    return openai.OpenAI(
        api_key=key or "unset",
        base_url=settings.openai_base_url or None,
        timeout=timeout_for(settings),
        max_retries=0,
        http_client=http_client,
    )


def timeout_for(settings: Settings) -> httpx.Timeout:
    seconds = settings.llm_timeout_seconds
    return httpx.Timeout(seconds, connect=min(seconds, 10.0))


# --- retries -----------------------------------------------------------------------------


def is_retryable(exc: BaseException) -> bool:
    """Transient failures: connection errors, timeouts, 429 unless the quota is spent, 5xx."""
    if isinstance(exc, openai.RateLimitError):
        return not _quota_exhausted(exc)
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500
    return isinstance(exc, (openai.APIConnectionError, httpx.TransportError))


def _quota_exhausted(exc: openai.APIStatusError) -> bool:
    body = exc.body if isinstance(exc.body, dict) else {}
    return "insufficient_quota" in (exc.code, exc.type, body.get("code"), body.get("type"))


def retry_after_seconds(exc: BaseException | None) -> float | None:
    """The server's requested wait, from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, httpx.Response):
        return None
    headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        if value.strip().replace(".", "", 1).isdigit():
            return float(value)
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class _Wait:
    """Full-jitter exponential backoff, but never less than the server's Retry-After."""

    def __init__(self, policy: RetryPolicy):
        self.jitter = wait_random_exponential(multiplier=policy.backoff_seconds, max=policy.backoff_max_seconds)

    def __call__(self, state: RetryCallState) -> float:
        asked = retry_after_seconds(state.outcome.exception() if state.outcome else None) or 0.0
        return max(self.jitter(state), asked)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("LLM call failed (attempt %d), retrying: %s", state.attempt_number, _describe(exc))


def with_retries(policy: RetryPolicy, call: Callable[[], T]) -> tuple[T, int]:
    """Run `call` under the retry policy; returns its value and how many retries it took.

    Raises LLMError when the call fails for good (not retryable, or out of attempts or time).
    """
    attempts = 0

    def attempt() -> T:
        nonlocal attempts
        attempts += 1
        return call()

    retrying = Retrying(
        retry=retry_if_exception(is_retryable),
        stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.max_seconds),
        wait=_Wait(policy),
        before_sleep=_log_retry,
        reraise=True,
    )
    try:
        return retrying(attempt), attempts - 1
    except LLMError as exc:
        exc.retries = attempts - 1
        raise
    except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:  # ValueError: a body that is not JSON
        raise LLMError(_describe(exc), status=_status(exc), retries=attempts - 1) from exc


def _status(exc: BaseException | None) -> int | None:
    return exc.status_code if isinstance(exc, openai.APIStatusError) else None


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


# --- calls -------------------------------------------------------------------------------


def chat(
    client: openai.OpenAI,
    *,
    model: str,
    messages: list[Message],
    sampling: Sampling,
    policy: RetryPolicy,
    response_format: dict[str, Any] | None = None,
) -> LLMResult:
    """One complete (non-streaming) chat call, retried under `policy`."""
    params: dict[str, Any] = {"model": model, "messages": messages, **sampling.params()}
    if response_format is not None:
        params["response_format"] = response_format
    started = time.perf_counter()
    try:
        completion, retries = with_retries(policy, lambda: _completion(client, params))
    except LLMError as exc:
        exc.latency_ms = _since(started)
        raise
    try:
        choice = _first_choice(completion)
        message = choice.get("message") or {}
        text = message.get("content") if isinstance(message, dict) else None
    except ValueError as exc:
        raise LLMError(str(exc), retries=retries, latency_ms=_since(started)) from exc
    if not choice:
        raise LLMError("the model returned no choices", retries=retries, latency_ms=_since(started))
    usage = completion.get("usage") if isinstance(completion.get("usage"), dict) else {}
    return LLMResult(
        text=text if isinstance(text, str) else "",
        model=completion.get("model") or model,
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        latency_ms=_since(started),
        retries=retries,
        finish_reason=choice.get("finish_reason"),
    )


def _completion(client: openai.OpenAI, params: dict[str, Any]) -> dict:
    """The completion's JSON as a dict; an error status raises the SDK's exception for it."""
    response = _send(client, params, stream=False)
    try:
        response.read()
        _raise_for_status(client, response)
    finally:
        response.close()
    data = json.loads(response.content)
    if not isinstance(data, dict):
        raise ValueError("the completion is not a JSON object")
    return data


def _send(client: openai.OpenAI, params: dict[str, Any], *, stream: bool) -> httpx.Response:
    """Send on the client's pooled httpx client; a failure to get a response becomes the SDK's
    APITimeoutError or APIConnectionError, as when the SDK sends (both are retried)."""
    request = _request(client, params)
    try:
        return client._client.send(request, stream=stream)
    except httpx.TimeoutException as exc:
        raise openai.APITimeoutError(request=request) from exc
    except Exception as exc:
        raise openai.APIConnectionError(request=request) from exc


def _request(client: openai.OpenAI, params: dict[str, Any]) -> httpx.Request:
    """POST <base_url>/chat/completions with the client's key and timeout, the body as plain JSON."""
    headers = {"Authorization": f"Bearer {client.api_key}", "Content-Type": "application/json",
               "Accept": "application/json"}
    return client._client.build_request(
        "POST", _completions_url(str(client.base_url)), content=json.dumps(params).encode(), headers=headers,
        timeout=client.timeout,
    )


@lru_cache(maxsize=8)
def _completions_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/chat/completions"


def _raise_for_status(client: openai.OpenAI, response: httpx.Response) -> None:
    """The SDK's own exception for an error status (RateLimitError for 429, and so on)."""
    if response.status_code >= 400:
        raise client._make_status_error_from_response(response)


@dataclass
class ChatStream:
    """A streaming chat call: iterate for the text as it arrives; `result` is set once it ends.

    Failures before the first piece of text are retried under the policy; once text has been
    handed out a broken stream raises LLMError (the caller has already shown that text).
    """

    client: openai.OpenAI
    model: str
    messages: list[Message]
    sampling: Sampling
    policy: RetryPolicy
    result: LLMResult | None = field(default=None, init=False)

    def __iter__(self) -> Iterator[str]:
        started = time.perf_counter()
        try:
            (stream, chunks, first), retries = with_retries(self.policy, self._open)
        except LLMError as exc:
            exc.latency_ms = _since(started)
            raise
        pieces, usage, model, finish = [first], None, self.model, None
        try:
            yield first
            for chunk in chunks:
                model = chunk.get("model") or model
                usage = chunk["usage"] if isinstance(chunk.get("usage"), dict) else usage
                choice = _first_choice(chunk)
                text, finish = _delta(choice), choice.get("finish_reason") or finish
                if text:
                    pieces.append(text)
                    yield text
        except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
            raise LLMError(f"the stream broke: {_describe(exc)}", retries=retries, latency_ms=_since(started)) from exc
        finally:
            stream.close()
        self.result = LLMResult(
            text="".join(pieces), model=model,
            prompt_tokens=usage.get("prompt_tokens") if usage else None,
            completion_tokens=usage.get("completion_tokens") if usage else None,
            latency_ms=_since(started), retries=retries, finish_reason=finish,
        )

    def _open(self):
        """Start the stream and read up to its first text, so a failure here can be retried.

        The SDK sends the request (and raises its errors for a failed status); the server-sent
        events are read here as plain JSON, without the SDK's model for every chunk."""
        params = {"model": self.model, "messages": self.messages, "stream": True,
                  "stream_options": {"include_usage": True}, **self.sampling.params()}
        stream = _send(self.client, params, stream=True)
        try:
            if stream.status_code >= 400:
                stream.read()
                _raise_for_status(self.client, stream)
        except BaseException:
            stream.close()
            raise
        chunks = _stream_chunks(stream)
        try:
            for chunk in chunks:
                text = _delta(_first_choice(chunk))
                if text:
                    return stream, chunks, text
        except BaseException:
            stream.close()
            raise
        stream.close()
        raise LLMError("the model returned an empty reply")


def stream_chat(
    client: openai.OpenAI, *, model: str, messages: list[Message], sampling: Sampling, policy: RetryPolicy
) -> ChatStream:
    return ChatStream(client=client, model=model, messages=messages, sampling=sampling, policy=policy)


def _stream_chunks(response: httpx.Response) -> Iterator[dict]:
    """The JSON chunks of an OpenAI-style event stream, up to `[DONE]`; an error event raises
    `openai.APIError`, as the SDK's own stream does."""
    received = response.iter_bytes()
    for data in _sse_data(received, response.encoding or "utf-8"):
        if data.startswith("[DONE]"):
            for _ in received:  # read to the end: a response closed unread takes its connection with it
                pass
            return
        chunk = json.loads(data)
        if isinstance(chunk, dict) and chunk.get("error"):
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else None
            raise openai.APIError(
                message if isinstance(message, str) and message else "An error occurred during streaming",
                request=response.request, body=error,
            )
        if isinstance(chunk, dict):
            yield chunk


def _sse_data(received: Iterator[bytes], encoding: str) -> Iterator[str]:
    """The data of each server-sent event (its `data:` lines joined), in order.

    Parsed from the bytes as they arrive, a whole event at a time, rather than decoding text and
    splitting it line by line (httpx's `iter_lines`). Lines end at CR, LF or CRLF only, as the SSE
    format and the SDK's own decoder say (`iter_lines` also split at U+2028 inside a JSON string)."""
    pending = b""
    for chunk in received:
        text = pending + chunk
        held = text[-1:] == b"\r"  # perhaps the first half of a CRLF: decided by the next chunk
        if held:
            text = text[:-1]
        if b"\r" in text:
            text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *events, pending = text.split(b"\n\n")
        pending += b"\r" if held else b""
        for event in events:
            data = _event_data(event, encoding)
            if data is not None:
                yield data
    data = _event_data(pending.replace(b"\r", b"\n"), encoding)
    if data is not None:
        yield data


def _event_data(event: bytes, encoding: str) -> str | None:
    if event.startswith(b"data: ") and b"\n" not in event:  # the usual event: one data line
        return event[6:].decode(encoding, errors="replace")
    data = []
    for line in event.decode(encoding, errors="replace").split("\n"):
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    return "\n".join(data) if data else None


def _first_choice(data: dict) -> dict:
    """The first choice of a completion or chunk; {} when there is none. Odd shapes are a bad reply."""
    choices = data.get("choices")
    if not choices:
        return {}
    if not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise ValueError("the reply's choices are not a list of objects")
    return choices[0]


def _delta(choice: dict) -> str:
    delta = choice.get("delta") or {}
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
