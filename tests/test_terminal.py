"""`coach interview`: a whole mock interview in the terminal, stored like any other session."""

from __future__ import annotations

import io

from coach.cli import main
from coach.terminal import read_answers
from tests.answers import phase_answer, strong_answer


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
    session_id = out.split("Report for session ")[1].split()[0]

    from sqlmodel import Session

    from coach import store
    from coach.config import get_settings

    with Session(store.make_engine(get_settings().sqlalchemy_url)) as db:  # stored like any session
        turns = store.list_turns(db=db, session_id=session_id)
        grades = store.list_grades(db=db, session_id=session_id)
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
