"""Code answers and their test results: the shapes, the checks, and how results read in words.

The candidate's browser runs the code (Pyodide or sql.js in a Web Worker) and sends the results
with the answer. The server never runs candidate code, so results are the candidate's claim: it
checks their shape against the task, keeps them labelled as a claim, and says so wherever they
are shown or graded. Domain code: no HTTP, no SQL.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from coach.knowledge import PythonTask, Question, SqlTask

CLAIM = "candidate's browser"  # who ran the tests: every stored run carries it
TEXT = 2000  # longest value of one test result field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TestResult(Strict):
    name: str = Field(max_length=100)
    hidden: bool = False
    passed: bool
    input: str = Field(default="", max_length=TEXT)
    expected: str = Field(default="", max_length=TEXT)
    actual: str = Field(default="", max_length=TEXT)
    error: str | None = Field(default=None, max_length=TEXT)


class ResultRows(Strict):
    columns: list[str] = Field(max_length=50)
    rows: list[list[str | int | float | None]] = Field(max_length=50)
    total: int = Field(ge=0)


class Plan(Strict):
    before: list[str] | None = Field(default=None, max_length=50)
    after: list[str] = Field(max_length=50)


class RunResult(Strict):
    """One run of the candidate's code against the task's tests, as the browser reported it."""

    status: Literal["ok", "error", "timeout"]
    tests: list[TestResult] = Field(min_length=1, max_length=100)
    output: str = Field(default="", max_length=10_000)
    error: str | None = Field(default=None, max_length=TEXT)
    runtime: str | None = Field(default=None, max_length=100)
    rows: ResultRows | None = None
    plan: Plan | None = None

    @property
    def passed(self) -> int:
        return sum(1 for t in self.tests if t.passed)

    @property
    def total(self) -> int:
        return len(self.tests)


class CodeAnswer(Strict):
    """What a coding answer adds to its text: the code, its language, and the latest run (if any)."""

    language: Literal["python", "sql"]
    source: str = Field(min_length=1)
    run: RunResult | None = None


class StoredRun(RunResult):
    claimed_by: str = CLAIM


class StoredCode(Strict):
    """A code answer as stored and shown: its run says who ran it."""

    language: Literal["python", "sql"]
    source: str
    run: StoredRun | None = None


class InvalidCodeAnswer(Exception):
    """Code or results that do not fit the question's task."""


def check_code_answer(question: Question | None, code: CodeAnswer) -> None:
    """Refuse results for a task without tests, in another language, or naming tests it lacks."""
    task = question.runnable if question else None
    if task is None:
        if code.run is not None:
            raise InvalidCodeAnswer("this question has no tests to run: send the code without run results")
        return
    if code.language != task.language:
        raise InvalidCodeAnswer(f"this task is in {task.language}, not {code.language}")
    if code.run is None:
        return
    names = [t.name for t in code.run.tests]
    unknown = sorted(set(names) - set(task.test_names()))
    if unknown:
        raise InvalidCodeAnswer(f"the task has no test named {', '.join(unknown)}")
    if len(set(names)) != len(names):
        raise InvalidCodeAnswer("each test may appear once in the results")


def task_for_browser(question: Question) -> dict | None:
    """What the page needs to run the task: never the reference solution."""
    task = question.runnable
    if task is None:
        return None
    if isinstance(task, PythonTask):
        return {
            "language": "python", "entry": task.entry, "starter": task.starter,
            "tests": [t.model_dump(mode="json") for t in task.tests],
        }
    assert isinstance(task, SqlTask)
    plan = task.plan
    return {
        "language": "sql", "starter": task.starter, "schema_sql": task.schema_sql,
        "expected": task.expected.model_dump(mode="json"),
        "plan": {"query": plan.query, "no_full_scan": plan.no_full_scan} if plan else None,
    }


def stored(code: CodeAnswer) -> dict:
    """The code answer as stored with the turn, its run labelled as the candidate's claim."""
    return StoredCode.model_validate(code.model_dump()).model_dump(mode="json")


def answer_text(notes: str, code: CodeAnswer | None) -> str:
    """The answer as one Markdown text, the way every reader of answers (graders, transcript, exports)
    takes it: the notes, then the code as a fenced block."""
    if code is None:
        return notes
    block = fenced(code.language, code.source)
    return f"{notes.rstrip()}\n\n{block}" if notes.strip() else block


def pass_rate(run: RunResult) -> float:
    return run.passed / run.total


def results_summary(run: RunResult) -> str:
    """The run in one line, the way graders cite it: '3 of 4 tests passed (failed: ties)'."""
    failed = [t.name for t in run.tests if not t.passed]
    text = f"{run.passed} of {run.total} tests passed in the candidate's browser run"
    if run.status == "timeout":
        text += " (stopped at the time limit)"
    elif run.status == "error":
        text += " (the code raised an error)"
    if failed:
        text += f"; failed: {', '.join(failed)}"
    return text + "."


def fenced(language: str, source: str) -> str:
    """The code as a Markdown block, fenced longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{source.rstrip()}\n{fence}"
