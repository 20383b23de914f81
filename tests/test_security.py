"""Holding under attack: forwarded headers, metric labels, security headers, HEAD, body limits, docs offline."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session, select

from coach.api.app import create_app
from coach.config import Settings
from coach.store import InterviewSession
from tests.support.api import auth, start
from tests.support.fake_llm import serve

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"
TEMPLATE_NAMES = sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html"))


# --- forwarded headers ----------------------------------------------------------------------


def test_a_forged_x_forwarded_for_does_not_walk_past_the_rate_limit(settings):
    limited = settings.model_copy(update={"sessions_per_minute": 2})
    with TestClient(create_app(limited)) as client:
        codes = [client.post("/api/sessions", json={}, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
                 for n in range(4)]
    assert codes == [201, 201, 429, 429]


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(settings):
    behind_proxy = settings.model_copy(update={"sessions_per_minute": 2, "trusted_proxies": "10.0.0.0/8, testclient"})
    with TestClient(create_app(behind_proxy)) as client:
        codes = [client.post("/api/sessions", json={}, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
                 for n in range(4)]
        same = [client.post("/api/sessions", json={}, headers={"X-Forwarded-For": "198.51.100.7"}).status_code
                for _ in range(3)]
    assert codes == [201] * 4  # four clients behind the proxy, one session each
    assert same == [201, 201, 429]  # one client is still limited


def test_x_forwarded_proto_from_an_untrusted_client_does_not_turn_on_hsts(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in response.headers


def test_coach_serve_tells_uvicorn_not_to_trust_forwarded_headers(monkeypatch):
    import uvicorn

    from coach import cli

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    assert cli.main(["serve"]) == 0
    assert calls[0]["proxy_headers"] is False


# --- metrics --------------------------------------------------------------------------------


def metric_series(text: str) -> set[str]:
    return {line.split(" ")[0] for line in text.splitlines() if line.startswith("coach_http_request_seconds_count")}


def test_made_up_methods_and_paths_do_not_grow_the_metrics(tmp_path):
    def odd_requests(n: int) -> None:
        client.request(f"BREW{n}", "/healthz")
        client.request(f"BREW{n}", f"/no/such/page/{n}")
        client.get(f"/no/such/page/{n}")

    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        odd_requests(0)
        before = metric_series(client.get("/metrics").text)
        for n in range(1, 60):
            odd_requests(n)
        text = client.get("/metrics").text
    assert "BREW" not in text and "/no/such" not in text
    assert 'method="other"' in text and 'route="unmatched"' in text
    assert metric_series(text) - before <= {s for s in metric_series(text) if 'route="/metrics"' in s}


def test_metrics_need_the_token_when_one_is_set(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", metrics_token=SecretStr("scrape-secret-1234"))
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=auth("wrong")).status_code == 401
        allowed = client.get("/metrics", headers=auth("scrape-secret-1234"))
    assert allowed.status_code == 200 and "coach_http_request_seconds" in allowed.text


def test_a_request_id_with_odd_bytes_is_replaced_not_a_500(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        response = client.get("/healthz", headers=[(b"X-Request-ID", b"caf\xe9 \xff")])
    assert response.status_code == 200 and re.fullmatch(r"[0-9a-f]{16}", response.headers["x-request-id"])


# --- security headers -----------------------------------------------------------------------


@pytest.fixture
def offline_client(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        yield client


def csp(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.split()[0]: d.partition(" ")[2] for d in (p.strip() for p in policy.split(";")) if d}


def test_every_page_carries_the_security_headers(offline_client):
    client = offline_client
    session = start(client)
    for path in ("/", "/history", "/review/login", "/api/tracks", "/static/app.css", "/nowhere", "/docs"):
        response = client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["referrer-policy"] == "same-origin", path
        policy = csp(response)
        assert policy["frame-ancestors"] == "'none'" and policy["script-src"] == "'self' 'wasm-unsafe-eval'", path  # wasm: the coding panel
        assert "unsafe-inline" not in policy["script-src"] and "strict-transport-security" not in response.headers
    assert client.get(f"/api/sessions/{session['id']}", headers=auth(session["token"])).headers["cache-control"] == "no-store"


def test_the_chat_page_that_carries_the_token_is_never_cached(offline_client):
    client = offline_client
    started = client.post("/sessions", data={"stages": ["phone_screen"]}, follow_redirects=True)
    assert started.status_code == 200 and BeautifulSoup(started.text, "html.parser").select_one("#chat")["data-token"]
    assert started.headers["cache-control"] == "no-store"


def test_hsts_only_over_https(tmp_path):
    app = create_app(Settings(data_dir=tmp_path / "data"))
    with TestClient(app, base_url="https://coach.example") as client:
        assert client.get("/").headers["strict-transport-security"].startswith("max-age=")
    with TestClient(app) as client:
        assert "strict-transport-security" not in client.get("/").headers


def test_hsts_behind_a_trusted_https_proxy(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", trusted_proxies="testclient")
    with TestClient(create_app(settings)) as client:
        response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["strict-transport-security"].startswith("max-age=")


INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_no_template_has_inline_script(template):
    """The CSP forbids inline script: a template with one would silently stop working."""
    source = (TEMPLATES / template).read_text()
    soup = BeautifulSoup(source, "html.parser")
    assert not [s for s in soup.find_all("script") if not s.get("src")], "inline <script>"
    assert not INLINE_HANDLER.search(source), "inline event handler"
    assert "javascript:" not in source


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_no_page_overrides_the_referrer_policy_header(template):
    """A <meta name=referrer content=no-referrer> would make the browser send `Origin: null` with
    this site's own form posts, which the same-origin check refuses."""
    soup = BeautifulSoup((TEMPLATES / template).read_text(), "html.parser")
    assert soup.find("meta", attrs={"name": "referrer"}) is None


# --- cross-site form posts ------------------------------------------------------------------


def stored_sessions(client) -> int:
    with Session(client.app.state.service.db_engine) as db:
        return len(db.exec(select(InterviewSession)).all())


@pytest.mark.parametrize("origin", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},  # a sandboxed frame or a no-referrer page elsewhere
    {"Referer": "https://evil.example/attack.html"},
    {"Origin": "http://testserver.evil.example"},
])
def test_a_cross_site_form_post_creates_no_session(client, origin):
    response = client.post("/sessions", data={"stages": ["phone_screen"]}, headers=origin, follow_redirects=False)
    assert response.status_code == 403 and "another site" in response.json()["detail"]
    assert "set-cookie" not in response.headers and stored_sessions(client) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_cross_site_form_cannot_start_a_session_through_the_json_api(client, content_type):
    """A form can send these types without a preflight; the API reads only JSON, so it refuses them."""
    response = client.post("/api/sessions", content=b'{"stages": ["phone_screen"]}',
                           headers={"Content-Type": content_type, "Origin": "https://evil.example"})
    assert response.status_code == 422 and stored_sessions(client) == 0


def test_a_cross_site_post_to_the_reviewer_login_is_refused(client):
    response = client.post("/review/login", data={"email": "a@example.com", "password": "x" * 12},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


def test_the_start_form_posted_from_this_site_starts_a_session(client):
    for same_site in ({"Origin": "http://testserver"}, {"Referer": "http://testserver/"}, {}):
        response = client.post("/sessions", data={"stages": ["phone_screen"]}, headers=same_site,
                               follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/s/"), same_site
    assert stored_sessions(client) == 3


# --- HEAD -----------------------------------------------------------------------------------


def test_head_is_answered_wherever_get_is(offline_client):
    client = offline_client
    session = start(client)
    paths = ["/", "/history", "/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json",
             "/static/app.css", "/review/login", "/api/tracks"]
    for path in paths:
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"], path
    api = f"/api/sessions/{session['id']}"
    assert client.head(api, headers=auth(session["token"])).status_code == 200
    assert client.head(api).status_code == 404  # the same authorization as GET
    assert client.head("/api/sessions").status_code == 405  # POST only: no GET, no HEAD


# --- body size ------------------------------------------------------------------------------


def chunks(total: int, size: int = 8192):
    for start_at in range(0, total, size):
        yield b"x" * min(size, total - start_at)


def test_an_oversized_chunked_body_gets_413_on_every_kind_of_route(settings):
    small = settings.model_copy(update={"max_body_bytes": 20_000})
    with TestClient(create_app(small)) as client:
        session = start(client)
        json_post = client.post("/api/sessions", content=chunks(60_000), headers={"Content-Type": "application/json"})
        answer = client.post(f"/api/sessions/{session['id']}/answers", content=chunks(60_000),
                             headers={**auth(session["token"]), "Content-Type": "application/json"})
        form = client.post("/sessions", content=chunks(60_000),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        announced = client.post("/api/sessions", content=b"x" * 30_000, headers={"Content-Type": "application/json"})
        fine = client.post("/api/sessions", content=chunks(100), headers={"Content-Type": "application/json"})
    for response in (json_post, answer, form, announced):
        assert response.status_code == 413, response.text
        assert "too large" in response.json()["detail"]
    assert fine.status_code == 422  # small and chunked: read, then refused as bad JSON


# --- API docs offline -----------------------------------------------------------------------


def test_the_api_docs_load_only_from_this_server(offline_client):
    client = offline_client
    for path in ("/docs", "/redoc"):
        soup = BeautifulSoup(client.get(path).text, "html.parser")
        assets = [urlsplit(tag.get("src") or tag.get("href")) for tag in soup.find_all(["script", "link"])]
        assert assets and all(a.netloc in ("", "testserver") and a.path.startswith("/static/") for a in assets)
        for asset in assets:
            assert client.get(asset.path).status_code == 200, asset
    static = Path(__file__).resolve().parents[1] / "web" / "static"
    for bundle in ("swagger-ui-bundle-*.js", "redoc.standalone-*.js"):
        found = list(static.glob(bundle))
        assert found, bundle
        name = found[0].name
        library, version = re.match(r"([a-z-]+?)(?:-bundle|\.standalone)?-(\d+\.\d+\.\d+)\.js", name).groups()
        assert (static / f"{library}-{version}.LICENSE").exists(), f"no licence beside {name}"


@pytest.mark.browser
def test_swagger_ui_and_redoc_render_offline_under_the_csp(browser, tmp_path):
    with serve(create_app(Settings(data_dir=tmp_path / "data"))) as url:
        context = browser.new_context(base_url=url, offline=False)
        page = context.new_page()
        outside, problems = [], []
        page.route(re.compile(r"^(?!" + re.escape(url) + ").*"), lambda route: (outside.append(route.request.url),
                                                                                 route.abort()))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto("/docs")
        page.locator(".swagger-ui .opblock").first.wait_for(timeout=20_000)
        assert page.locator(".swagger-ui .info .title").inner_text().startswith("coach")
        page.goto("/redoc")
        page.locator("h2", has_text="Create Session").first.wait_for(timeout=20_000)
        context.close()
    assert not outside, outside
    # Redoc's sidebar hard-codes its vendor's logo from a CDN; the CSP blocks it and Redoc hides it.
    assert not [p for p in problems if "cdn.redoc.ly/redoc/logo-mini.svg" not in p], problems
