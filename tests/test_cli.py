"""The `coach` command line."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from coach.cli import main
from coach.config import get_settings
from coach.knowledge import load_knowledge
from coach.resources import KNOWLEDGE_DIR, PROMPTS_DIR

CALIBRATION = Path(__file__).resolve().parent.parent / "eval" / "calibration.jsonl"


def test_knowledge_check_prints_counts(capsys):
    assert main(["knowledge", "check"]) == 0
    out = capsys.readouterr().out
    for what in ("tracks", "stages", "questions", "criteria", "mistakes", "tips"):
        assert what in out


def _use_folder(monkeypatch, variable: str, folder: Path) -> None:
    monkeypatch.setenv(variable, str(folder))
    get_settings.cache_clear()


TEAM_TIP = "        preparation_tips:\n          - id: tip-team-own\n            text: Read our engineering blog before the call.\n"


def test_knowledge_check_reads_coach_knowledge_dir_and_fails_with_file_and_field(tmp_path, monkeypatch, capsys):
    root = tmp_path / "team-knowledge"
    shutil.copytree(KNOWLEDGE_DIR, root)
    track = root / "tracks" / "backend-developer.yaml"
    track.write_text(track.read_text().replace("        preparation_tips:\n", TEAM_TIP, 1))
    _use_folder(monkeypatch, "COACH_KNOWLEDGE_DIR", root)
    assert main(["knowledge", "check"]) == 0
    assert _count(capsys.readouterr().out, "tips") == load_knowledge(KNOWLEDGE_DIR).counts()["tips"] + 1

    criteria = root / "criteria.yaml"
    criteria.write_text(criteria.read_text().replace("    name: Technical accuracy", "    nmae: Technical accuracy", 1))
    assert main(["knowledge", "check"]) == 1
    err = capsys.readouterr().err
    assert str(criteria) in err and "nmae" in err


def test_knowledge_check_renders_the_prompts_of_coach_prompts_dir(tmp_path, monkeypatch, capsys):
    root = tmp_path / "team-prompts"
    shutil.copytree(PROMPTS_DIR, root)
    (root / "judge_user.j2").write_text("{{ answer }} {% if %}")
    _use_folder(monkeypatch, "COACH_PROMPTS_DIR", root)
    assert main(["knowledge", "check"]) == 1
    assert str(root / "judge_user.j2") in capsys.readouterr().err


def _count(summary: str, what: str) -> int:
    """`12` from "knowledge ok: ..., 12 questions, ..."."""
    return int(re.search(rf"(\d+) {what}\b", summary).group(1))


def test_grade_prints_one_graded_line_per_input(tmp_path, capsys):
    lines = [
        {"stage": "technical", "question": "What is the difference between authentication and authorization?",
         "answer": "Authentication verifies who you are, for example with a password or a token, while "
                   "authorization decides what you may do once identified, such as role-based permissions."},
        {"stage": "coding", "question": "Write a haiku about kittens.", "answer": "pass"},
    ]
    source = tmp_path / "answers.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines))
    assert main(["grade", str(source)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["answer"] for o in out] == [line["answer"] for line in lines]
    assert out[0]["grade"]["scorer"] == "offline" and out[0]["grade"]["overall"] > out[1]["grade"]["overall"]
    assert out[1]["grade"]["overall"] == 1.0  # unknown question: the stage's generic rubric, still graded


def test_eval_reports_agreement_on_the_shipped_set(capsys):
    rows = [json.loads(line) for line in CALIBRATION.read_text().splitlines() if line.strip()]
    assert len(rows) >= 60
    assert {r["stage"] for r in rows} >= {"phone_screen", "technical", "coding", "system_design",
                                          "architecture_deep_dive", "behavioral", "final"}
    assert {"buzzword", "off_topic", "empty", "injection"} <= {r["kind"] for r in rows}
    assert main(["eval", str(CALIBRATION), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["n"] + figures["not_gradable"] == len(rows)
    assert figures["not_gradable"] >= sum(r["kind"] == "non_english" for r in rows)
    assert figures["spearman"] > 0.5
    assert figures["pairwise_accuracy"] > 0.7
    assert figures["low_quality_above_2"] == 0
    assert set(figures["mean_score_by_label"]) == {"1", "2", "3", "4", "5"}
    assert figures["mean_score_by_kind"]["strong"] > figures["mean_score_by_kind"]["weak"]


def test_eval_prints_readable_figures(capsys):
    assert main(["eval", str(CALIBRATION)]) == 0
    out = capsys.readouterr().out
    assert "Spearman" in out and "pairwise ranking accuracy" in out and "mean absolute error" in out
    assert "mean score per label" in out and "mean score per kind" in out and "targets:" in out


def test_eval_without_a_file_measures_both_shipped_parts(capsys):
    assert main(["eval", "--json"]) == 0
    parts = json.loads(capsys.readouterr().out)
    tuning, held_out = (next(v for k, v in parts.items() if name in k) for name in ("calibration", "holdout"))
    assert tuning["n"] >= 100 and held_out["n"] >= 60
    assert {t["name"] for t in held_out["targets"]} >= {"Spearman", "pairwise ranking", "mean absolute error"}


def test_eval_grades_follow_up_exchanges_with_their_main_answer(tmp_path, capsys):
    question = "What does a message broker such as RabbitMQ buy you?"
    main_answer = "It decouples services."
    follow_up = ("The producer publishes an event and consumers process it at their own pace, so when the email "
                 "service was down for ten minutes last week the messages waited in the queue instead of failing "
                 "checkout, because the broker stores them durably until a consumer acknowledges them.")
    rows = [{"stage": "technical", "question": question, "answer": main_answer, "label": 2},
            {"stage": "technical", "question": question, "answer": main_answer, "label": 4,
             "follow_ups": [{"question": "Can you say more?", "answer": follow_up}]}]
    source = tmp_path / "labeled.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows))
    assert main(["eval", str(source), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["pairwise_accuracy"] == 1.0  # the exchange with a real follow-up ranks above the bare answer


def test_grade_refuses_an_unknown_stage_naming_the_line(tmp_path, capsys):
    source = tmp_path / "answers.jsonl"
    source.write_text(json.dumps({"stage": "tea_break", "question": "Milk first?", "answer": "Always."}))
    assert main(["grade", str(source)]) == 1
    assert "line 1" in capsys.readouterr().err


def test_grade_reports_each_bad_line_by_its_number_and_grades_the_rest(tmp_path, capsys):
    good = {"stage": "technical", "question": "What is an index?", "answer": "A B-tree that speeds up lookups."}
    lines = [
        json.dumps(good),
        "",  # blank lines are skipped but still counted
        json.dumps({**good, "answer": 42}),
        "{not json",
        json.dumps({**good, "question": ["a", "list"]}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"stage": "technical", "question": "What is an index?"}),
        json.dumps({**good, "answer": "Another answer about B-trees."}),
    ]
    source = tmp_path / "answers.jsonl"
    source.write_text("\n".join(lines) + "\n")
    assert main(["grade", str(source)]) == 1
    captured = capsys.readouterr()
    graded = [json.loads(line) for line in captured.out.splitlines()]
    assert [g["answer"] for g in graded] == [good["answer"], "Another answer about B-trees."]
    assert all(g["grade"]["scorer"] == "offline" for g in graded)
    errors = captured.err.splitlines()
    assert "Traceback" not in captured.err
    assert [e.split(": ")[1] for e in errors[:5]] == ["line 3", "line 4", "line 5", "line 6", "line 7"]
    assert "answer must be a string" in errors[0] and "not JSON" in errors[1]
    assert "question must be a string" in errors[2] and "not a JSON object" in errors[3]
    assert "missing answer" in errors[4] and "5 line(s) not graded" in errors[5]
