"""Exports of reviewed sessions as pure functions: a transcript as Markdown or JSON, grades as CSV lines.

Candidate text is untrusted: in Markdown it is escaped (no raw HTML, no links or images of its own)
and its code blocks are fenced, so any renderer shows it as the candidate wrote it and runs nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator

from coach.api.schemas import ReviewGradeOut, ReviewSessionOut
from coach.codeblocks import split_code
from coach.coderun import results_summary

CSV_COLUMNS = [
    "session_id", "track", "seniority", "session_created_at", "reviewed", "session_overall", "turn_id", "grade_id", "stage",
    "question_id", "grade_status", "scorer", "model", "rubric_version", "prompt_version", "machine_overall",
    "overall", "criterion_id", "criterion_name", "machine_score", "score", "overridden", "evidence", "mistakes",
    "flags", "answer",
]


# --- JSON -----------------------------------------------------------------------------------


def transcript_json(t: ReviewSessionOut) -> str:
    return json.dumps(t.model_dump(mode="json"), indent=2, ensure_ascii=False)


# --- Markdown -------------------------------------------------------------------------------


def transcript_markdown(t: ReviewSessionOut) -> str:
    lines = [
        f"# Interview {t.id}", "",
        f"- Track: {t.track}, seniority: {t.seniority}, mode: {t.mode}, status: {t.status}",
        f"- Started: {t.created_at.isoformat(timespec='minutes')}; reviewed: {'yes' if t.reviewed else 'no'}",
        f"- Overall score: {_score(t.score)}", "",
    ]
    for turn in t.turns:
        who = "Interviewer" if turn.role == "interviewer" else "Candidate"
        lines += [f"## {turn.seq + 1}. {who} · {turn.stage or ''} · {turn.kind}", "", _quote(turn.text), ""]
        if turn.code and turn.code.run:
            lines += [f"- Tests (not re-run here): {_one_line(results_summary(turn.code.run))}", ""]
        if turn.grade:
            lines += _markdown_grade(turn.grade)
        for comment in turn.comments:
            lines += [f"- Comment by {comment.reviewer} ({comment.created_at.isoformat(timespec='minutes')}): "
                      f"{_one_line(comment.text)}"]
        if turn.comments:
            lines.append("")
    return "\n".join(lines)


def _markdown_grade(grade: ReviewGradeOut) -> list[str]:
    lines = [
        f"**Grade** ({grade.status}): overall {_score(grade.overall)}"
        + (f" (machine: {_score(grade.machine_overall)})" if grade.overall_overridden else ""),
        f"scorer {grade.scorer or '-'}, model {grade.model or '-'}, rubric {grade.rubric_version or '-'}, "
        f"prompt {grade.prompt_version or '-'}", "",
    ]
    if grade.criteria:
        lines += ["| Criterion | Machine | Score | Feedback |", "|---|---|---|---|"]
        lines += [
            f"| {_cell(c.name)} | {_score(c.machine_score)} | {_score(c.score)}{' (overridden)' if c.overridden else ''}"
            f" | {_cell(c.feedback)} |"
            for c in grade.criteria
        ]
        lines.append("")
    for c in grade.criteria:
        lines += [f"- Evidence for {_one_line(c.name)}: " + "; ".join(f"“{_one_line(q)}”" for q in c.evidence)] if c.evidence else []
    if grade.mistakes:
        lines.append("- Mistakes: " + ", ".join(_one_line(m.get("name") or m.get("id", "")) for m in grade.mistakes))
    if grade.flags:
        lines.append("- Flags: " + ", ".join(grade.flags))
    for o in grade.overrides:
        lines.append(
            f"- Override by {o.reviewer} ({o.created_at.isoformat(timespec='minutes')}): {o.criterion or 'overall'} "
            f"{_score(o.machine_score)} → {_score(o.score)}: {_one_line(o.comment)}"
        )
    lines.append("")
    return lines


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _quote(text: str) -> str:
    """A turn's text as a blockquote: prose escaped, code blocks fenced."""
    blocks = [_fenced(s.text, s.language) if s.kind == "code" else markdown_escape(s.text) for s in split_code(text)]
    body = "\n\n".join(blocks)
    return "\n".join("> " + line if line else ">" for line in body.split("\n")) if body else ">"


_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKUP = re.compile(r"[\\`*_\[\]|~]")
_LINE_START = re.compile(r"^(\s*)([#=+-])", re.M)


def markdown_escape(text: str) -> str:
    """Text that reads the same in any Markdown renderer: HTML characters as entities (no raw HTML,
    no autolinks), and the characters that open links, images, emphasis, code or tables escaped."""
    text = "".join(_HTML.get(c, c) for c in text)
    text = _MARKUP.sub(lambda m: "\\" + m.group(0), text)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def _fenced(code: str, language: str) -> str:
    """A fence longer than any run of backticks in the code, so the code cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    info = language if re.fullmatch(r"[\w+#.-]{1,30}", language) else ""
    return f"{fence}{info}\n{code}\n{fence}"


def _one_line(text: str) -> str:
    return markdown_escape(" ".join(text.split()))


def _cell(text: str) -> str:
    return _one_line(text)  # `|` is escaped with the rest


# --- CSV ------------------------------------------------------------------------------------


def grade_csv_records(session, grade, graded: ReviewGradeOut, answer: str, session_overall: float | None) -> list[dict]:
    """One record per criterion of a grade (one with no criterion for a grade without any)."""
    base = {
        "session_id": session.id, "track": session.track, "seniority": session.seniority,
        "session_created_at": session.created_at.isoformat(), "reviewed": session.reviewed,
        "session_overall": session_overall, "turn_id": grade.turn_id,
        "grade_id": grade.id, "stage": grade.stage, "question_id": grade.question_id, "grade_status": grade.status,
        "scorer": grade.scorer, "model": grade.model, "rubric_version": grade.rubric_version,
        "prompt_version": grade.prompt_version, "machine_overall": graded.machine_overall, "overall": graded.overall,
        "mistakes": " | ".join(m.get("id", "") for m in graded.mistakes), "flags": " | ".join(graded.flags),
        "answer": answer,
    }
    empty = {"criterion_id": None, "criterion_name": None, "machine_score": None, "score": None,
             "overridden": graded.overall_overridden, "evidence": None}
    return [
        {**base, "criterion_id": c.id, "criterion_name": c.name, "machine_score": c.machine_score, "score": c.score,
         "overridden": c.overridden, "evidence": " | ".join(c.evidence)}
        for c in graded.criteria
    ] or [{**base, **empty}]


def csv_lines(records: Iterable[dict]) -> Iterator[str]:
    """The header, then one CSV line per record, as they come (nothing is held in memory)."""
    yield _csv_line(CSV_COLUMNS)
    for record in records:
        yield _csv_line([_csv_safe(record[c]) for c in CSV_COLUMNS])


def _csv_line(values: list) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(values)
    return out.getvalue()


def _csv_safe(value):
    """Text a spreadsheet would run as a formula is prefixed with a quote (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
