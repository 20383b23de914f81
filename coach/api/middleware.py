"""Pure ASGI middleware that guards every request and response: body size, plain text, HEAD, security headers.

Pure ASGI (not BaseHTTPMiddleware) so streamed answers are never buffered.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script anywhere: every page loads its code from /static ('wasm-unsafe-eval' lets the
# coding panel compile Pyodide's and sql.js's WebAssembly, nothing else). Inline *styles* are allowed:
# CodeMirror writes its base theme into <style> elements at run time, and without them the editor
# loses white-space handling and auto-indent (a nonce via EditorView.cspNonce would tighten this).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


class BodySizeLimit:
    """Refuse bodies over the limit with 413, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._too_large()(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                # An HTTPException, not any other error: FastAPI re-raises it as it is while it
                # reads a body (anything else becomes a 400 "error parsing the body").
                raise HTTPException(status_code=413, detail=self._detail())
            return message

        return counted

    def _detail(self) -> str:
        return f"request body too large: at most {self.limit} bytes"

    def _too_large(self) -> JSONResponse:
        return JSONResponse(status_code=413, content={"detail": self._detail()})


class HeadAsGet:
    """Answer HEAD wherever GET is served: the GET route runs, its headers go out, its body does not."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # swallow the body; the server sends nothing after the headers
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class SecurityHeaders:
    """The headers every response carries; HSTS only where the request came over HTTPS.

    Nothing dynamic is cacheable: pages carry bearer tokens, CSRF tokens and private transcripts.
    Static files keep their caching (their names change with their versions)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add(MutableHeaders(scope=message), scope)
            await send(message)

        await self.app(scope, receive, with_headers)

    @staticmethod
    def _add(headers: MutableHeaders, scope: Scope) -> None:
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with our
        # own form posts, and the same-origin check on them (coach.api.deps) could not tell them apart.
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not scope["path"].startswith("/static/"):
            headers.setdefault("Cache-Control", "no-store")
        if scope.get("scheme") == "https":
            headers.setdefault("Strict-Transport-Security", HSTS)


class PlainTextInput:
    """Refuse with 422 a request whose text holds a NUL or a lone surrogate, wherever it is: the
    path, the query, a JSON or form body (keys and values, at any depth).

    Neither is text anyone types, and neither survives storage: PostgreSQL refuses NUL in text, and
    a lone surrogate cannot be encoded as UTF-8 for either database (nor for a JSON response). One
    check here covers every route, present and future, instead of a validator on each field."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = _bad_text(("path",), scope["path"])
        found += _bad_items(("query",), parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        kind = _body_kind(scope)
        if not found and kind is not None:
            try:
                body = await _read_body(receive)
                found = await _bad_body(scope, kind, body)
            except HTTPException as exc:  # the body limit, or a form Starlette cannot parse
                await JSONResponse(status_code=exc.status_code, content={"detail": exc.detail})(scope, receive, send)
                return
            receive = _replay(body, receive)
        if found:
            await JSONResponse(status_code=422, content={"detail": found})(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _is_plain(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _bad_text(loc: tuple, value: object) -> list[dict]:
    """The errors, in FastAPI's shape, for every string in `value` that is not plain text."""
    if isinstance(value, str):
        return [] if _is_plain(value) else [{
            "type": "string_not_plain_text", "loc": list(loc),
            "msg": "the text holds a NUL character or a lone surrogate; remove it and send again",
        }]
    if isinstance(value, dict):
        return _bad_items(loc, list(value.items()))
    if isinstance(value, list):
        return [e for n, item in enumerate(value) for e in _bad_text((*loc, n), item)]
    return []


def _bad_items(loc: tuple, items: list[tuple[str, object]]) -> list[dict]:
    """Keys are checked as well as values; a bad key is named "?" (the error must itself encode)."""
    found = []
    for key, value in items:
        where = (*loc, key if _is_plain(key) else "?")
        found += _bad_text(where, key) + _bad_text(where, value)
    return found


def _body_kind(scope: Scope) -> str | None:
    """How the route will read the body: as a form, as JSON (FastAPI also parses a body sent
    without a Content-Type as JSON), or not as text at all."""
    if scope["method"] in ("GET", "HEAD", "OPTIONS"):
        return None
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"").split(b";")[0].strip().lower()
    if content_type in (b"application/x-www-form-urlencoded", b"multipart/form-data"):
        return "form"
    if not content_type or content_type == b"application/json" or content_type.endswith(b"+json"):
        return "json"
    return None


async def _bad_body(scope: Scope, kind: str, body: bytes) -> list[dict]:
    if kind == "form":  # parsed by Starlette, as the route will parse it
        async with Request(scope, _replay(body, _no_more)).form() as form:
            return _bad_items(("body",), [(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    try:
        return _bad_text(("body",), json.loads(body))
    except ValueError:  # not JSON: the route's own parsing says so
        return []


async def _no_more() -> Message:
    return {"type": "http.disconnect"}


async def _read_body(receive: Receive) -> bytes:
    parts, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, then the client's own messages (a streamed response waits on its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
