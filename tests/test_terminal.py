"""`coach interview`: a whole mock interview in the terminal, stored like any other session."""

from __future__ import annotations

import io
import re

from coach.cli import main
from coach.terminal import read_answers, render
from tests.support.answers import phase_answer, strong_answer, weak_answer


def test_answers_end_at_a_dot_line_and_keep_their_lines():
    lines = ["def f(x):", "    return x", "", ".", "/skip", "second answer", "."]
    assert list(read_answers(iter(lines))) == ["def f(x):\n    return x", "/skip", "second answer"]


def test_the_last_answer_needs_no_dot_at_the_end_of_input():
    assert list(read_answers(iter(["only answer"]))) == ["only answer"]


def test_a_whole_interview_in_the_terminal_ends_with_a_report(monkeypatch, capsys, kb, tmp_path):
    from coach.engine import build_plan

    plan = build_plan(kb, track="backend-developer", seniority="senior", stages=["phone_screen", "coding"], seed=5)
    questions = [q for stage in plan.stages for q in stage.question_ids]
    # each main question answered well; any follow-up answered with the same text (it repeats the points)
    script = []
    for question_id in questions:
        script += [strong_answer(kb, question_id), ".", strong_answer(kb, question_id), "."]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(script) + "\n"))
    assert main(["interview", "--seniority", "senior", "--stages", "phone_screen,coding", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "by the offline rubric scorer" in out
    assert "Report for session" in out and "Phone Screen" in out and "Coding" in out
    coding = kb.questions[plan.stages[1].question_ids[0]]
    assert ("Running your code against them is a web feature" in out) == bool(coding.runnable)
    session_id = out.split("Report for session ")[1].split()[0]

    from coach import store
    from coach.config import get_settings

    with store.make_engine(get_settings().sqlalchemy_url).connect() as db:  # stored like any session
        turns = store.read_turns(db=db, session_id=session_id)
        grades = store.read_grades(db=db, session_id=session_id)
    assert sum(t.role == "candidate" for t in turns) >= len(questions)
    assert grades and all(g.status == "done" for g in grades)


def test_end_stops_early_and_still_reports(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("/end\n"))
    assert main(["interview", "--stages", "behavioral"]) == 0
    assert "Overall: - (no answers)" in capsys.readouterr().out


def test_an_unknown_stage_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["interview", "--stages", "tea_break"]) == 2
    assert "unknown stage" in capsys.readouterr().err


def test_a_full_loop_in_the_terminal_walks_every_phase_and_answers_the_candidates_questions(monkeypatch, capsys, kb):
    from coach.engine import build_plan

    plan = build_plan(kb, track="backend-developer", seniority="senior", length="full", seed=5)
    script = []
    for stage in plan.stages:
        for question_id in stage.question_ids:
            for phase in stage.phases or [None]:
                script += [phase_answer(kb, question_id, phase), "."]
        if stage.invite:
            script += ["What are the biggest challenges facing the team right now?", ".", "No, that's all.", "."]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(script) + "\n"))
    assert main(["interview", "--seniority", "senior", "--length", "full", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    for stage_id in ("system_design", "coding"):
        for phase in kb.formats.for_stage(stage_id).phases:
            assert " ".join(phase.prompt.split()) in " ".join(out.split()), phase.id
    assert next(f.answer for f in kb.company.facts if f.about == "challenges") in " ".join(out.split())
    assert "That's the end of the interview" in out


LEFT, UP = b"\x1b[D", b"\x1b[A"


def _interview_at_a_terminal(tmp_path, keys: list[bytes]) -> str:
    """Run `coach interview` on a pseudo-terminal, typing `keys` (one line each) once it prompts."""
    import os
    import pty
    import subprocess
    import sys
    import time

    main_fd, terminal = pty.openpty()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this checkout's coach, from any folder
    env = {**os.environ, "COACH_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": root}
    process = subprocess.Popen(
        [sys.executable, "-m", "coach.cli", "interview", "--stages", "phone_screen", "--seed", "3"],
        stdin=terminal, stdout=terminal, stderr=terminal, env=env, cwd=os.getcwd(),
    )
    os.close(terminal)
    output = b""
    try:
        for key in keys:
            output += _read_until(main_fd, b"> ", time.monotonic() + 120)
            os.write(main_fd, key + b"\r")
        output += _read_to_the_end(main_fd, time.monotonic() + 120)
        process.wait(120)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(main_fd)
    return output.decode(errors="replace")


def _read_until(fd: int, marker: bytes, deadline: float) -> bytes:
    import os
    import select
    import time

    seen = b""
    while not seen.endswith(marker):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no prompt from coach interview: {seen[-500:]!r}"
        seen += os.read(fd, 4096)
    return seen


def _read_to_the_end(fd: int, deadline: float) -> bytes:
    """What the program writes after the last key, until it closes the terminal."""
    import os
    import select
    import time

    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        try:
            chunk = os.read(fd, 4096) if ready else b""
        except OSError:  # the program exited: the terminal is closed
            break
        if not chunk:
            break
        seen += chunk
    return seen


def _candidate_texts(tmp_path) -> list[str]:
    from sqlalchemy import select

    from coach import store

    db_engine = store.make_engine(f"sqlite:///{tmp_path / 'data' / 'coach.db'}")
    with db_engine.connect() as db:
        rows = db.execute(select(store.TURNS.c.text).where(store.TURNS.c.role == "candidate").order_by(store.TURNS.c.id))
        return list(rows.scalars())


def test_arrow_keys_edit_the_answer_and_up_recalls_earlier_lines(tmp_path):
    _interview_at_a_terminal(tmp_path, [b"Redis caches" + LEFT * 3 + b"XY", b".", b"/end"])
    assert _candidate_texts(tmp_path) == ["Redis cacXYhes"]  # edited in place, no escape codes stored
    _interview_at_a_terminal(tmp_path, [UP * 3, b".", b"/end"])  # the history of the first interview
    assert _candidate_texts(tmp_path) == ["Redis cacXYhes", "Redis cacXYhes"]


# --- code as code ------------------------------------------------------------------------------

CODE_ANSWER = ["I keep a dict of seen values.", "", "```python", "def first_repeat(items):",
               "    seen = set()", "    return next((x for x in items if x in seen or seen.add(x)), None)", "```"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_code_shows_as_a_block_without_fences_and_is_highlighted_only_for_a_terminal():
    text = "\n".join(CODE_ANSWER) + "\nThat is O(n).\n\n    SELECT id FROM users;"
    plain = render(text, color=False)
    assert "```" not in plain and not ANSI.search(plain)
    assert "  [python]\n  | def first_repeat(items):\n  |     seen = set()" in plain
    assert "  [sql]\n  | SELECT id FROM users;" in plain  # an indented block is code too
    assert plain.startswith("I keep a dict of seen values.") and "That is O(n)." in plain
    colored = render(text, color=True)
    assert re.search(r"\|\s*\x1b\[[0-9;]*mdef\x1b\[", colored)  # the keyword in its own colour
    assert ANSI.sub("", colored) == plain  # the same block, only coloured
    assert render("No code here, just `inline` words.", color=True) == "No code here, just `inline` words."


def test_without_a_terminal_a_code_answer_and_the_report_show_plain_code_blocks(monkeypatch, capsys):
    script = [*CODE_ANSWER, ".", "/end"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(script) + "\n"))
    assert main(["interview", "--stages", "coding", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert not ANSI.search(out) and "```" not in out
    echoed, report = out.split("Your code:\n")[1], out.split("Your answers:\n")[1]
    assert echoed.startswith("  [python]\n  | def first_repeat(items):\n")
    assert "I keep a dict of seen values." in report
    assert "      [python]\n      | def first_repeat(items):" in report  # under its question, as code


def test_at_a_terminal_code_is_highlighted(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    keys = [line.encode() for line in CODE_ANSWER] + [b".", b"/end"]
    output = _interview_at_a_terminal(tmp_path, keys)
    echoed = output.split("Your code:")[1]
    assert re.search(r"\|\s*\x1b\[[0-9;]*mdef\x1b\[", echoed), echoed[:400]
    report = output.split("Your answers:")[1]
    assert re.search(r"\|\s*\x1b\[[0-9;]*mdef\x1b\[", report), report[:400]


# --- drills ------------------------------------------------------------------------------------


def _session_count() -> int:
    import sqlalchemy as sa

    from coach import store
    from coach.config import get_settings

    with store.make_engine(get_settings().sqlalchemy_url).connect() as db:
        return db.execute(sa.select(sa.func.count()).select_from(store.SESSIONS)).scalar_one()


def test_a_drill_in_the_terminal_retries_the_question_and_prints_both_attempts(monkeypatch, capsys, kb):
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{weak_answer()}\n.\n/end\n"))
    assert main(["interview", "--stages", "phone_screen", "--seed", "4", "--seniority", "senior"]) == 0
    out = capsys.readouterr().out
    original = out.split("Report for session ")[1].split()[0]
    question_id = re.search(r"^- \[([\w-]+)\]", out.split("Your answers:\n")[1], re.M).group(1)
    assert f"coach drill {original} --question ID" in out

    strong = strong_answer(kb, question_id)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{strong}\n.\n{strong}\n.\n{strong}\n.\n"))
    assert main(["drill", original, "--question", question_id]) == 0
    out = capsys.readouterr().out
    assert kb.questions[question_id].prompt in out.split("Interviewer:")[1]  # the drill opens on that question
    drill_id = out.split("Report for session ")[1].split()[0]
    attempts = out.split("Your attempts:\n")[1]
    assert attempts.startswith(f"Question: {kb.questions[question_id].prompt}")
    before = re.search(rf"original {original}: (\d\.\d), key points (\d+) of", attempts)
    after = re.search(rf"drill 1 {drill_id}: (\d\.\d) \(\+(\d\.\d)\), key points (\d+) of", attempts)
    assert before and after, attempts
    assert float(after.group(1)) > float(before.group(1)) and int(after.group(3)) > int(before.group(2))
    assert "    + " in attempts  # the key points gained, by name


def test_a_drill_of_what_the_session_never_asked_is_refused_in_the_terminal(monkeypatch, capsys, kb):
    monkeypatch.setattr("sys.stdin", io.StringIO("/end\n"))
    assert main(["interview", "--stages", "behavioral", "--seed", "1"]) == 0
    original = capsys.readouterr().out.split("Report for session ")[1].split()[0]
    before = _session_count()
    assert main(["drill", original, "--question", "no-such-question"]) == 2
    assert "never asked question 'no-such-question'" in capsys.readouterr().err
    assert main(["drill", original, "--stage", "coding"]) == 2
    assert "no stage 'coding'" in capsys.readouterr().err
    assert main(["drill", "0000000000000000", "--stage", "behavioral"]) == 2
    assert "no session" in capsys.readouterr().err
    assert _session_count() == before
