"""Pure ASGI middleware that guards every response: body size, HEAD, security headers, proxies.

Pure ASGI (not BaseHTTPMiddleware) so streamed answers are never buffered.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
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
