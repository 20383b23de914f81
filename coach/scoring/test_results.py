"""What graders make of a coding answer's test results, which the candidate's browser reported.

The offline scorer grades the functionality and testing criteria by the pass rate and says so in
the feedback, citing the run's summary as evidence; the LLM judge sees the results (see
prompts/judge_user.j2). The results are the candidate's claim: the server never re-runs code, and
every feedback line here says that. Flag caps still apply afterwards, so a tricked answer stays low.
"""

from __future__ import annotations

from coach.coderun import RunResult, pass_rate, results_summary
from coach.scoring import CriterionScore

FROM_PASS_RATE = ("code-functionality", "error-handling-and-testing")


def score_for_pass_rate(rate: float) -> int:
    """0 % -> 1, 25 % -> 2, 50 % -> 3, 75 % -> 4, 100 % -> 5 (rounded to the nearest)."""
    return 1 + round(4 * rate)


def with_test_results(criteria: list[CriterionScore], run: RunResult | None) -> list[CriterionScore]:
    """The criteria, functionality and testing scored from the run's pass rate when there was a run."""
    if run is None:
        return criteria
    summary = results_summary(run)
    score = score_for_pass_rate(pass_rate(run))
    feedback = (
        f"Scored from the tests run in your browser ({run.passed} of {run.total} passed): your claim, "
        f"as the server does not re-run code. {'' if score == 5 else 'Make the failing tests pass.'}"
    ).strip()
    return [
        c.model_copy(update={"score": score, "evidence": [summary, *c.evidence][:3], "feedback": feedback})
        if c.id in FROM_PASS_RATE else c
        for c in criteria
    ]


def graded_text(answer: str, run: RunResult | None) -> str:
    """The text a grader's quotes are checked against: the answer, then the run's summary line."""
    return answer if run is None else f"{answer}\n\n{results_summary(run)}"


def results_for_judge(run: RunResult | None) -> str:
    """The run as the judge reads it: the summary, then each test (failures with their values)."""
    if run is None:
        return ""
    lines = [results_summary(run), f"status: {run.status}" + (f"; error: {run.error}" if run.error else "")]
    for test in run.tests:
        label = f"- {test.name}{' (hidden)' if test.hidden else ''}: {'passed' if test.passed else 'failed'}"
        if not test.passed:
            label += f"; input {test.input!r}; expected {test.expected!r}; actual {test.actual!r}"
            label += f"; error {test.error!r}" if test.error else ""
        lines.append(label)
    if run.plan:
        lines.append("query plan after: " + " | ".join(run.plan.after))
    return "\n".join(lines)
