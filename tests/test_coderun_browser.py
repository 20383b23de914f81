"""The coding stage runs the candidate's code in Chromium: Python through Pyodide and SQL through
sql.js, in a Web Worker with a time limit, from assets the app serves itself.

Pyodide takes seconds to start, so one page (and its worker) serves several checks in order.
Every request the pages make is recorded: one to another host fails the test.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
import pytest

from coach.api.app import create_app
from coach.api.pages import COOKIE, _signer
from coach.config import Settings
from coach.engine import build_plan
from coach.knowledge import load_knowledge
from tests.coderun_support import set_code
from tests.fake_llm import serve

pytestmark = pytest.mark.browser
KB = load_knowledge()


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory):
    return Settings(data_dir=tmp_path_factory.mktemp("coderun") / "data")


@pytest.fixture(scope="module")
def server(app_settings):
    with serve(create_app(app_settings)) as url:
        yield url


@pytest.fixture(scope="module")
def context(browser, server):
    context = browser.new_context(base_url=server, viewport={"width": 1100, "height": 1000})
    context.foreign = []
    origin = urlsplit(server).netloc

    def record(route):
        if urlsplit(route.request.url).netloc != origin and not route.request.url.startswith(("data:", "blob:")):
            context.foreign.append(route.request.url)
            return route.abort()
        return route.continue_()

    context.route("**/*", record)
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.set_default_timeout(20_000)
    yield page
    assert not page.errors, page.errors
    assert context.foreign == [], f"requests to other hosts: {context.foreign}"
    page.close()


def seed_for(question_id: str, seniority: str = "middle") -> int:
    """A session seed whose coding stage asks `question_id` (the engine's choice is deterministic)."""
    for seed in range(500):
        plan = build_plan(KB, track="backend-developer", seniority=seniority, stages=["coding"], seed=seed)
        if plan.stages[0].question_ids[0] == question_id:
            return seed
    raise AssertionError(f"no seed asks {question_id}")


def open_task(page, server, settings, question_id: str, mode: str = "coach") -> dict:
    """Start a coding-only session on the task and open its chat page, as this browser's session."""
    body = {"track": "backend-developer", "seniority": "middle", "stages": ["coding"], "mode": mode,
            "seed": seed_for(question_id)}
    created = httpx.post(f"{server}/api/sessions", json=body).json()
    assert created["question"]["id"] == question_id
    cookie = _signer(settings).dumps([[created["id"], created["token"]]])
    page.context.add_cookies([{"name": COOKIE, "value": cookie, "url": server}])
    page.goto(f"/s/{created['id']}")
    page.wait_for_selector("#code-panel:not([hidden])")
    return created


STARTUP_MS = 180_000  # Pyodide's first start: seconds alone, a minute on a machine shared by many builds


def run(page, timeout: float = 30_000) -> dict:
    """Click Run and wait for its results; {test name: passed}."""
    page.evaluate("document.getElementById('run-results').replaceChildren()")
    page.click("#run")
    page.wait_for_selector("#run-results .run-summary", timeout=timeout)
    return {
        item.get_attribute("data-test"): "passed" in item.get_attribute("class")
        for item in page.locator("#run-results li.test").all()
    }


FIRST_SEEN = """def top_endpoints(lines, k):
    seen = []
    for line in lines:
        endpoint = " ".join(line.split()[1:])
        if endpoint not in seen:
            seen.append(endpoint)
    return seen[:k]
"""
ENDLESS = "def top_endpoints(lines, k):\n    while True:\n        pass\n"


def test_a_python_task_runs_its_tests_in_the_browser_and_stops_an_endless_loop(page, server, app_settings):
    open_task(page, server, app_settings, "coding-top-k-endpoints")
    assert page.inner_text("#code-language") == "Python"
    assert page.locator("#code-editor .cm-lineNumbers").count() == 1  # CodeMirror, with line numbers
    task = KB.questions["coding-top-k-endpoints"].runnable
    visible = {t.name for t in task.tests if not t.hidden}

    results = run(page, timeout=STARTUP_MS)  # the starter code returns []
    assert set(results) == visible and not any(results.values())
    page.wait_for_selector("#code-runtime:has-text('Pyodide 314.0.8')")

    set_code(page, FIRST_SEEN)
    results = run(page)
    assert results == {"most-requested-first": True, "method-is-part-of-the-endpoint": False}
    failed = page.locator("#run-results li.test.failed")
    assert failed.locator(".test-input").inner_text() == (
        "top_endpoints(['t1 GET /orders', 't2 POST /orders', 't3 POST /orders', 't4 GET /health'], 2)"
    )
    assert failed.locator(".test-expected").inner_text() == "['POST /orders', 'GET /health']"
    assert failed.locator(".test-actual").inner_text() == "['GET /orders', 'POST /orders']"

    set_code(page, task.reference)
    assert run(page) == {name: True for name in visible}

    set_code(page, ENDLESS)
    started = time.monotonic()
    page.click("#run")
    page.wait_for_selector("#run-status:has-text('running')", timeout=2000)
    # the page still answers while the worker spins: the main thread is free
    assert page.evaluate("1 + 1") == 2
    page.fill("#answer", "typing while it runs")
    page.wait_for_selector("#run-status.error", timeout=15_000)
    assert time.monotonic() - started < 15
    assert "stopped after 5 s" in page.inner_text("#run-status")
    assert page.locator("#run-results li.test.failed").count() == len(visible)

    set_code(page, task.reference)  # a fresh worker (a new Pyodide) takes the next run
    assert run(page, timeout=STARTUP_MS) == {name: True for name in visible}
