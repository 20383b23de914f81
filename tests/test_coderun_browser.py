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
from tests.support.api import auth
from tests.support.coderun import set_code
from tests.support.fake_llm import serve

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
    for _ in ("clarify", "approach"):  # the stepped coding stage takes code in its code phase
        skipped = httpx.post(f"{server}/api/sessions/{created['id']}/skip", headers=auth(created["token"]))
        assert skipped.status_code == 200, skipped.text
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


@pytest.fixture(scope="module")
def python_page(context, server, app_settings):
    """One page on the top-k task, shared by the Python checks below (in order): one Pyodide start."""
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.set_default_timeout(20_000)
    page.session = open_task(page, server, app_settings, "coding-top-k-endpoints")
    yield page
    assert not page.errors, page.errors
    page.close()


TOP_K = KB.questions["coding-top-k-endpoints"].runnable
VISIBLE = {t.name for t in TOP_K.tests if not t.hidden}


def test_a_python_task_shows_failing_and_passing_tests(python_page):
    page = python_page
    assert page.inner_text("#code-language") == "Python"
    assert page.locator("#code-editor .cm-lineNumbers").count() == 1  # CodeMirror, with line numbers
    results = run(page, timeout=STARTUP_MS)  # the starter code returns []
    assert set(results) == VISIBLE and not any(results.values())
    page.wait_for_selector("#code-runtime:has-text('Pyodide 314.0.8')")

    set_code(page, FIRST_SEEN)
    assert run(page) == {"most-requested-first": True, "method-is-part-of-the-endpoint": False}
    failed = page.locator("#run-results li.test.failed")
    assert failed.locator(".test-input").inner_text() == (
        "top_endpoints(['t1 GET /orders', 't2 POST /orders', 't3 POST /orders', 't4 GET /health'], 2)"
    )
    assert failed.locator(".test-expected").inner_text() == "['POST /orders', 'GET /health']"
    assert failed.locator(".test-actual").inner_text() == "['GET /orders', 'POST /orders']"

    set_code(page, "print('counting')\n" + TOP_K.reference)
    assert run(page) == {name: True for name in VISIBLE}
    assert page.inner_text("#run-results .run-output").strip() == "counting"


def test_an_endless_loop_is_stopped_at_the_time_limit_and_the_page_still_answers(python_page):
    page = python_page
    set_code(page, ENDLESS)
    started = time.monotonic()
    page.click("#run")
    page.wait_for_selector("#run-status:has-text('running')", timeout=2000)
    assert page.evaluate("1 + 1") == 2  # the page's thread is free while the worker spins
    page.fill("#answer", "typing while it runs")
    assert page.input_value("#answer") == "typing while it runs"
    page.wait_for_selector("#run-status.error", timeout=15_000)
    assert time.monotonic() - started < 15
    assert "stopped after 5 s" in page.inner_text("#run-status")
    assert page.locator("#run-results li.test.failed").count() == len(VISIBLE)

    set_code(page, TOP_K.reference)  # a fresh worker (a new Pyodide) takes the next run
    assert run(page, timeout=STARTUP_MS) == {name: True for name in VISIBLE}


def test_sending_stores_the_code_with_every_tests_result_and_the_grade_cites_them(python_page, server):
    page = python_page
    set_code(page, TOP_K.reference)
    page.fill("#answer", "I count endpoints in a Counter, then keep the k best in a heap of size k: O(n log k). "
                         "My tests cover ties, an empty log and malformed lines.")
    page.click("#code-editor .cm-content")
    page.keyboard.press("Control+Enter")  # sends from inside the editor too
    page.wait_for_selector("#transcript li.candidate[data-seq] .code-run", timeout=STARTUP_MS)
    page.wait_for_selector("#transcript .feedback[data-status=done]")

    turn = page.locator("#transcript li.candidate[data-seq]").last
    assert turn.locator(".code-run .run-summary").inner_text().startswith("6 of 6 tests passed")
    assert "the candidate's claim" in turn.locator(".code-run").inner_text()
    assert turn.locator(".answer-text pre code").inner_text().startswith("import heapq")  # code shown as code
    evidence = turn.locator(".feedback blockquote.evidence").all_inner_texts()
    assert any("6 of 6 tests passed in the candidate's browser run." in quote for quote in evidence), evidence

    session = page.session
    stored = httpx.get(f"{server}/api/sessions/{session['id']}", headers={"Authorization": f"Bearer {session['token']}"})
    answer = [t for t in stored.json()["messages"] if t["role"] == "candidate"][-1]
    run_stored = answer["code"]["run"]
    assert answer["code"]["language"] == "python" and answer["code"]["source"] == TOP_K.reference
    assert run_stored["claimed_by"] == "candidate's browser" and run_stored["runtime"].startswith("Pyodide 314.0.8")
    assert {t["name"]: t["passed"] for t in run_stored["tests"]} == {t.name: True for t in TOP_K.tests}


SLOW = KB.questions["coding-optimize-slow-query"].runnable


def test_a_sql_task_returns_the_rows_and_shows_the_query_plan_before_and_after(page, server, app_settings):
    open_task(page, server, app_settings, "coding-optimize-slow-query")
    assert page.inner_text("#code-language") == "SQL"
    assert run(page, timeout=STARTUP_MS) == {"result-set": True, "no-full-scan": False}  # the slow query itself
    assert page.inner_text("#run-results .plan-before").splitlines() == SLOW.plan.before
    assert "SCAN order_items" in page.inner_text("#run-results li.test.failed .test-actual")

    set_code(page, SLOW.reference)
    assert run(page) == {"result-set": True, "no-full-scan": True}
    assert page.inner_text("#run-results .plan-after").splitlines() == SLOW.plan.after
    rows = [[cell.inner_text() for cell in row.locator("td").all()] for row in page.locator("#run-results tbody tr").all()]
    assert rows == [[str(value) for value in row] for row in SLOW.expected.rows]
    page.wait_for_selector("#code-runtime:has-text('sql.js 1.17.0')")

    set_code(page, "SELECT email FROM users WHERE id = 1;")
    assert run(page) == {"result-set": False, "no-full-scan": True}
    set_code(page, "SELEC nonsense;")
    assert run(page) == {"result-set": False, "no-full-scan": False}
    assert "syntax error" in page.inner_text("#run-results .run-error")


def test_without_webassembly_the_editor_works_and_says_running_is_not_available(context, server, app_settings):
    page = context.new_page()
    page.add_init_script("delete globalThis.WebAssembly")
    open_task(page, server, app_settings, "coding-monthly-revenue")
    assert "Running code is not available in this browser" in page.inner_text("#run-status")
    assert page.is_disabled("#run")
    set_code(page, "def monthly_revenue(orders):\n    return {}\n")
    page.fill("#answer", "I group paid orders by the first seven characters of created_at and sum integer cents.")
    page.click("#send")
    page.wait_for_selector("#transcript li.candidate[data-seq] .code-run")
    assert "sent without a test run" in page.inner_text("#transcript li.candidate[data-seq] .code-run")
    page.close()
