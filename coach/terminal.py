"""`coach interview`: the whole mock interview in a terminal, stored like any other session."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from pygments import highlight
from pygments.formatters import TerminalFormatter

from coach.codeblocks import guess_language, has_code, lexer_for, split_code
from coach.drills import Comparison
from coach.engine import DrillTarget
from coach.presenters.report import effective_grade, session_report
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


CODE_GUTTER = "  | "


def render(text: str, *, color: bool) -> str:
    """Text for the terminal: prose as written, each code block (fenced or indented) set apart as
    code, its fence lines gone: highlighted by Pygments for a terminal (`color`), else a plain
    block under its language, each line behind a gutter."""
    return "\n".join(
        code_block(s.text, s.language, color=color) if s.kind == "code" else s.text for s in split_code(text)
    )


def code_block(code: str, language: str = "", *, color: bool) -> str:
    language = language or guess_language(code)
    body = highlight(code, lexer_for(language), TerminalFormatter()).rstrip("\n") if color else code
    return "\n".join([f"  [{language}]", *(CODE_GUTTER + line for line in body.split("\n"))])


def run_interview(
    service: InterviewService, answers: Iterator[str], say: Callable[[str], None], *,
    seniority: str | None, stages: list[str] | None, mode: str, seed: int | None = None, length: str | None = None,
    track: str | None = None, color: bool = False,
) -> tuple[str, Report]:
    """Run one interview from `answers`; returns the session id and its report. No track or seniority:
    the knowledge base's defaults. `color`: the output is a terminal, so code is highlighted."""
    session, _token, turns = service.start_session(
        track=track, seniority=seniority, stages=stages, mode=mode, seed=seed, length=length
    )
    return converse(service, session, turns, answers, say, color=color)


def run_drill(
    service: InterviewService, answers: Iterator[str], say: Callable[[str], None], *,
    session_id: str, target: DrillTarget, color: bool = False,
) -> tuple[str, Report]:
    """Retry one question or stage of a finished session in the terminal; the drill's id and report."""
    session, _token, turns = service.start_drill(session_id=session_id, target=target)
    return converse(service, session, turns, answers, say, color=color)


def converse(
    service: InterviewService, session, turns, answers: Iterator[str], say: Callable[[str], None], *, color: bool,
) -> tuple[str, Report]:
    """The interview from its opening turn to the end, one typed answer at a time."""
    mode = session.mode
    say(f"Session {session.id} ({mode} mode). {HELP}\n")
    say(f"Interviewer: {render(turns[0].text, color=color)}\n" + run_note(service, turns[0].question_id))
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
        if not skipped and has_code(text):  # how the code was read: as code, in its language
            say("Your code:\n" + "\n".join(code_block(s.text, s.language, color=color)
                                           for s in split_code(text) if s.kind == "code") + "\n")
        if result.grade is not None and mode == "coach":
            say(feedback(result.grade))
        say(f"Interviewer: {render(result.reply.text, color=color)}\n"
            + run_note(service, result.reply.question_id, result.reply.kind))
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


def quoted(evidence: str | None, *, color: bool) -> str:
    """A strength's evidence after its name: a quote, or a code block under it when it is code."""
    if not evidence:
        return ""
    if has_code(evidence):
        return ":\n" + "\n".join("    " + line for line in render(evidence, color=color).split("\n"))
    return f': "{evidence}"'


def format_report(report: Report, *, color: bool = False) -> str:
    signal = report.signal or ("no answers" if report.overall is None else "incomplete, no signal")
    lines = [f"Overall: {report.overall if report.overall is not None else '-'} ({signal})"]
    if report.coverage:
        lines.append(f"  {report.coverage.summary}")
    lines += [f"  {s.title}: " + (f"{s.score:.1f} ({s.signal})" if s.score is not None else s.status.replace("_", " "))
              for s in report.stages]
    if report.strengths:
        lines.append("Strengths:")
        lines += [f"  {s.name} ({s.score:.1f})" + quoted(s.evidence, color=color) for s in report.strengths]
    if report.improvements:
        lines.append("Work on these first:")
        lines += [f"  {i.name} ({i.score:.1f}): {i.advice} Prepare: {i.tip.text}" for i in report.improvements]
    return "\n".join(lines)


def format_answers(service: InterviewService, session_id: str, *, color: bool = False) -> str:
    """The report's answers: each with its question and score, code shown as code."""
    records = service.records(session_id)
    grades, overrides = records.grade_by_turn(), records.overrides_by_grade()
    lines = ["Your answers:"]
    for turn in records.turns:
        if turn.role != "candidate" or turn.kind != "answer":
            continue
        question = service.kb.questions.get(turn.question_id or "")
        grade = grades.get(turn.id)
        overall = effective_grade(grade, overrides.get(grade.id, []))["overall"] if grade else None
        score = f"{overall:.1f}/5" if overall is not None else "not graded"
        lines.append(f"- [{turn.question_id}] {question.prompt if question else ''} ({score})")
        lines += ["    " + line if line else "" for line in render(turn.text, color=color).split("\n")]
    return "\n".join(lines) if len(lines) > 1 else ""


def format_comparisons(comparisons: list[Comparison]) -> str:
    """Each drilled question or stage with its attempts in order: score, its change, key points."""
    lines = []
    for comparison in comparisons:
        points = {p.id: p.text for p in comparison.key_points}
        kind = "Question" if comparison.target.question_id else "Stage"
        lines.append(f"{kind}: {comparison.title}")
        for number, attempt in enumerate(comparison.attempts):
            score = "-" if attempt.score is None else f"{attempt.score:.1f}"
            change = f" ({attempt.change:+.1f})" if attempt.change is not None else ""
            label = f"drill {number}" if attempt.drill else "original"
            lines.append(f"  {label} {attempt.session_id}: {score}{change}, "
                         f"key points {len(attempt.covered)} of {len(points)}")
            lines += [f"    + {points[p]}" for p in attempt.gained] + [f"    - {points[p]}" for p in attempt.lost]
    return "\n".join(lines)
