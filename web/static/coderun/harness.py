"""Runs a candidate's Python against a task's tests; returns the results as JSON.

The browser runs this file in Pyodide inside a Web Worker (web/static/coderun/worker.js). The
test suite runs the same file with CPython on each task's reference solution, so the tests in
knowledge/ are proved right by the code that judges the candidate. Plain standard library only.
"""

import contextlib
import copy
import io
import json
import traceback

MAX_TEXT = 2000  # a shown value or error, cut to this many characters
MAX_OUTPUT = 8000  # printed output kept per run


def run_tests(source, entry, tests_json):
    """Exec `source` in a fresh namespace, then run every test on `entry`; a JSON string back."""
    tests = json.loads(tests_json)
    output = io.StringIO()
    namespace = {"__name__": "solution"}
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            exec(compile(source, "solution.py", "exec"), namespace)
    except BaseException as exc:  # noqa: BLE001 - a SyntaxError or SystemExit is the candidate's, reported
        return _report("error", [_not_run(t, _error(exc)) for t in tests], output, _error(exc))
    target = namespace.get(entry)
    if not callable(target):
        problem = f"define {entry!r}: the tests call it"
        return _report("error", [_not_run(t, problem) for t in tests], output, problem)
    results = [_run_one(target, entry, test, output) for test in tests]
    return _report("ok", results, output, None)


def _run_one(target, entry, test, output):
    expected = test["expected"]
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            actual = _call(target, test)
    except Exception as exc:  # noqa: BLE001 - the candidate's exception is a failed test
        return _result(test, entry, passed=False, actual=None, error=_error(exc))
    return _result(test, entry, passed=_same(actual, expected), actual=actual, error=None)


def _call(target, test):
    args = copy.deepcopy(test["args"])  # a solution that mutates its input cannot change the test
    if test.get("calls") is None:
        return target(*args)
    instance = target(*args)
    return [getattr(instance, method)(*copy.deepcopy(call_args)) for method, call_args in test["calls"]]


def _same(actual, expected):
    """Equal as JSON would see them: tuples match lists, 2 matches 2.0."""
    try:
        return json.loads(json.dumps(actual)) == expected
    except (TypeError, ValueError):
        return False


def _result(test, entry, *, passed, actual, error):
    return {
        "name": test["name"],
        "hidden": bool(test.get("hidden")),
        "passed": passed,
        "input": _clip(_call_text(entry, test)),
        "expected": _clip(repr(test["expected"])),
        "actual": "" if error else _clip(repr(actual)),
        "error": error,
    }


def _not_run(test, problem):
    return {
        "name": test["name"], "hidden": bool(test.get("hidden")), "passed": False, "input": "",
        "expected": _clip(repr(test["expected"])), "actual": "", "error": _clip(problem),
    }


def _call_text(entry, test):
    args = ", ".join(repr(a) for a in test["args"])
    text = f"{entry}({args})"
    for method, call_args in test.get("calls") or []:
        text += f"; .{method}({', '.join(repr(a) for a in call_args)})"
    return text


def _error(exc):
    lines = traceback.format_exception_only(type(exc), exc)
    return _clip("".join(lines).strip())


def _clip(text):
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _report(status, results, output, error):
    printed = output.getvalue()
    if len(printed) > MAX_OUTPUT:
        printed = printed[:MAX_OUTPUT] + "\n… (output cut)"
    return json.dumps({"status": status, "tests": results, "output": printed, "error": error})
