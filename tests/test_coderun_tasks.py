"""The runnable coding tasks in knowledge/ are right: each reference solution passes its task's
tests and each starter fails some, run here with CPython (Python tasks, through the same harness
the browser runs in Pyodide) and sqlite3 (SQL tasks). Test time only: the server never runs
candidate code."""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
from pathlib import Path

import pytest

from coach.knowledge import PythonTask, SqlTask, load_knowledge

HARNESS = Path(__file__).resolve().parents[1] / "web" / "static" / "coderun" / "harness.py"
KB = load_knowledge()
PYTHON_TASKS = {q.id: q.runnable for q in KB.questions.values() if isinstance(q.runnable, PythonTask)}
SQL_TASKS = {q.id: q.runnable for q in KB.questions.values() if isinstance(q.runnable, SqlTask)}


def harness():
    spec = importlib.util.spec_from_file_location("coderun_harness", HARNESS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_python(task: PythonTask, source: str) -> dict:
    tests = [t.model_dump(mode="json") for t in task.tests]
    return json.loads(harness().run_tests(source, task.entry, json.dumps(tests)))


@pytest.mark.parametrize("question_id", sorted(PYTHON_TASKS))
def test_the_reference_solution_passes_every_test(question_id):
    result = run_python(PYTHON_TASKS[question_id], PYTHON_TASKS[question_id].reference)
    assert result["status"] == "ok", result
    assert [t["name"] for t in result["tests"] if not t["passed"]] == []


@pytest.mark.parametrize("question_id", sorted(PYTHON_TASKS))
def test_the_starter_code_fails_some_test(question_id):
    result = run_python(PYTHON_TASKS[question_id], PYTHON_TASKS[question_id].starter)
    assert result["status"] == "ok"
    assert any(not t["passed"] for t in result["tests"])


def test_a_failing_test_shows_its_input_expected_and_actual():
    task = PYTHON_TASKS["coding-top-k-endpoints"]
    first_seen = "def top_endpoints(lines, k):\n    return list(dict.fromkeys(l.split()[1] + ' ' + l.split()[2] for l in lines))[:k]\n"
    result = run_python(task, first_seen)
    by_name = {t["name"]: t for t in result["tests"]}
    assert by_name["empty-log"]["passed"] and by_name["empty-log"]["hidden"]
    failed = by_name["method-is-part-of-the-endpoint"]
    assert not failed["passed"] and not failed["hidden"]
    assert failed["input"] == "top_endpoints(['t1 GET /orders', 't2 POST /orders', 't3 POST /orders', 't4 GET /health'], 2)"
    assert (failed["expected"], failed["actual"]) == ("['POST /orders', 'GET /health']", "['GET /orders', 'POST /orders']")
    crashed = by_name["malformed-lines-skipped"]
    assert not crashed["passed"] and crashed["error"].startswith("IndexError") and crashed["actual"] == ""


def test_code_that_does_not_compile_fails_every_test_with_the_error():
    result = run_python(PYTHON_TASKS["coding-lru-cache"], "class LRUCache(:\n")
    assert result["status"] == "error" and "SyntaxError: invalid syntax" in result["error"]
    assert all(not t["passed"] and t["error"] == result["error"] for t in result["tests"])


def test_a_missing_entry_point_is_named():
    result = run_python(PYTHON_TASKS["coding-lru-cache"], "class Cache:\n    pass\n")
    assert result["error"] == "define 'LRUCache': the tests call it"


def test_printed_output_is_captured_not_lost():
    source = "print('hello')\ndef monthly_revenue(o):\n    print(len(o))\n    return {}\n"
    result = run_python(PYTHON_TASKS["coding-monthly-revenue"], source)
    assert result["output"].splitlines()[:3] == ["hello", "3", "3"]


# --- SQL ---------------------------------------------------------------------------------------


def statements(script: str) -> list[str]:
    """Split a script into statements the way sqlite3 sees them complete."""
    found, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            found.append(buffer.strip())
            buffer = ""
    return found


def seeded(task: SqlTask) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.executescript(task.schema_sql)
    return db


def plan(db: sqlite3.Connection, query: str) -> list[str]:
    return [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {query.strip().rstrip(';')}")]


def last_result(db: sqlite3.Connection, script: str) -> tuple[str, list[list]]:
    last = None
    for statement in statements(script):
        cursor = db.execute(statement)
        if cursor.description:
            last = (statement, [list(row) for row in cursor.fetchall()])
    assert last is not None, "the script returns no rows"
    return last


@pytest.mark.parametrize("question_id", sorted(SQL_TASKS))
def test_the_reference_query_returns_the_expected_rows(question_id):
    task = SQL_TASKS[question_id]
    _, rows = last_result(seeded(task), task.reference)
    expected = task.expected.rows
    assert rows == expected if task.expected.ordered else sorted(map(repr, rows)) == sorted(map(repr, expected))


@pytest.mark.parametrize("question_id", sorted(SQL_TASKS))
def test_the_starter_query_does_not_pass(question_id):
    task = SQL_TASKS[question_id]
    db = seeded(task)
    statement, rows = last_result(db, task.starter)
    full_scans = task.plan and any(
        re.match(rf"SCAN {table}\b(?!.*\bUSING\b)", line) for table in task.plan.no_full_scan for line in plan(db, statement)
    )
    assert rows != task.expected.rows or full_scans


def test_the_optimisation_task_shows_the_plan_before_and_after():
    task = SQL_TASKS["coding-optimize-slow-query"]
    db = seeded(task)
    assert plan(db, task.plan.query) == task.plan.before
    statement, _ = last_result(db, task.reference)
    assert plan(db, statement) == task.plan.after
    assert any(line.startswith("SCAN order_items") for line in task.plan.before)
    assert not any(line.startswith("SCAN") for line in task.plan.after)


def test_every_seniority_has_algorithmic_and_data_tasks_to_run():
    for level in ("junior", "middle", "senior", "lead"):
        runnable = [q.runnable for q in KB.questions_for("coding", level) if q.runnable]
        assert len(runnable) >= 2
        assert {task.focus for task in runnable} == {"algorithmic", "data"}
        assert {task.language for task in runnable} == {"python", "sql"}
