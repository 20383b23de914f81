"""`coach interview`: the whole mock interview in a terminal, stored like any other session."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from coach.presenters.report import session_report
from coach.report import Report
from coach.service import InterviewService

END_OF_ANSWER = "."
HELP = (
    "Type your answer over as many lines as you like; a line with only a dot (.) sends it.\n"
    "Send /skip to skip a question, /end to end the interview now."
)


HISTORY_LINES = 1000
PROMPT = "> "


def typed_lines(history: Path) -> Iterator[str]:
    """Lines typed at a terminal, with line editing (arrow keys, Home/End, Ctrl-R) and the history
    of earlier interviews (Up/Down), kept in `history` readable by this user only."""
    import readline  # importing it gives input() line editing

    readline.set_history_length(HISTORY_LINES)
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    try:
        while True:
            try:
                yield input(PROMPT)
            except EOFError:
                return
    finally:
        _save_history(readline, history)


def _save_history(readline, history: Path) -> None:
    history.parent.mkdir(parents=True, exist_ok=True)
    history.touch(mode=0o600, exist_ok=True)
    readline.write_history_file(history)


def read_answers(lines: Iterator[str]) -> Iterator[str]:
    """Answers from input lines: each ends at a line holding only a dot (or at the end of input)."""
    answer: list[str] = []
    for line in lines:
        line = line.rstrip("\n")
        if line.strip() == END_OF_ANSWER:
            yield "\n".join(answer).strip("\n")
            answer = []
        elif not answer and line.strip() in ("/skip", "/end"):
            yield line.strip()
        else:
            answer.append(line)
    if "".join(answer).strip():
        yield "\n".join(answer).strip("\n")


def run_interview(
    service: InterviewService, answers: Iterator[str], say: Callable[[str], None], *,
    seniority: str, stages: list[str] | None, mode: str, seed: int | None = None, length: str = "standard",
) -> tuple[str, Report]:
    """Run one interview from `answers`; returns the session id and its report."""
    session, _token, turns = service.start_session(
        track="backend-developer", seniority=seniority, stages=stages, mode=mode, seed=seed, length=length
    )
    say(f"Session {session.id} ({mode} mode). {HELP}\n")
    say(f"Interviewer: {turns[0].text}\n" + run_note(service, turns[0].question_id))
    for text in answers:
        if text == "/end":
            break
        if not text.strip():
            say("(an empty answer is not sent: write something, or /skip)\n")
            continue
        skipped = text == "/skip"
        result = service.submit_answer(
            session_id=session.id, text="(skipped)" if skipped else text[: service.settings.max_answer_chars],
            skipped=skipped,
        )
        if result.grade is not None and mode == "coach":
            say(feedback(result.grade))
        say(f"Interviewer: {result.reply.text}\n" + run_note(service, result.reply.question_id, result.reply.kind))
        if result.session.status != "active":
            break
    service.finish(session_id=session.id)
    return session.id, session_report(service, session.id)


RUN_NOTE = (
    "(This task has tests. Running your code against them is a web feature (coach serve); here, type or "
    "paste your code and explain it, and it is graded as written.)\n"
)


def run_note(service: InterviewService, question_id: str | None, kind: str = "question") -> str:
    """Said when a task that the web app can run is asked (not again on its follow-ups)."""
    question = service.kb.questions.get(question_id) if question_id else None
    return RUN_NOTE if question is not None and question.runnable and kind == "question" else ""


def feedback(grade) -> str:
    scorer = {"llm": f"LLM ({grade.model})", "offline-fallback": "offline scorer (LLM unavailable)"}.get(
        grade.scorer, "offline rubric scorer")
    lines = [f"  Score {grade.overall:.1f}/5 by the {scorer}" + (f"; flags: {', '.join(grade.flags)}" if grade.flags else "")]
    for criterion in grade.criteria:
        shown = "insufficient evidence" if criterion["score"] is None else f"{criterion['score']}/5"
        lines.append(f"  - {criterion['name']}: {shown}")
    for mistake in grade.mistakes:
        lines.append(f"  ! {mistake['name']}")
    if grade.tip:
        lines.append(f"  Tip: {grade.tip}")
    return "\n".join(lines) + "\n"


def format_report(report: Report) -> str:
    signal = report.signal or ("no answers" if report.overall is None else "incomplete, no signal")
    lines = [f"Overall: {report.overall if report.overall is not None else '-'} ({signal})"]
    if report.coverage:
        lines.append(f"  {report.coverage.summary}")
    lines += [f"  {s.title}: " + (f"{s.score:.1f} ({s.signal})" if s.score is not None else s.status.replace("_", " "))
              for s in report.stages]
    if report.strengths:
        lines.append("Strengths:")
        lines += [f"  {s.name} ({s.score:.1f})" + (f': "{s.evidence}"' if s.evidence else "") for s in report.strengths]
    if report.improvements:
        lines.append("Work on these first:")
        lines += [f"  {i.name} ({i.score:.1f}): {i.advice} Prepare: {i.tip.text}" for i in report.improvements]
    return "\n".join(lines)
