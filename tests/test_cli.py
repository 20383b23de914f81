"""The `coach` command line."""

from __future__ import annotations

import json
from pathlib import Path

from coach.cli import main

CALIBRATION = Path(__file__).resolve().parent.parent / "eval" / "calibration.jsonl"


def test_knowledge_check_prints_counts(capsys):
    assert main(["knowledge", "check"]) == 0
    out = capsys.readouterr().out
    for what in ("tracks", "stages", "questions", "criteria", "mistakes", "tips"):
        assert what in out


def test_knowledge_check_fails_with_file_and_field(tmp_path, monkeypatch, capsys):
    import shutil

    import coach.knowledge as knowledge

    root = tmp_path / "knowledge"
    shutil.copytree(knowledge.KNOWLEDGE_DIR, root)
    criteria = root / "criteria.yaml"
    criteria.write_text(criteria.read_text().replace("    name: Technical accuracy", "    nmae: Technical accuracy", 1))
    monkeypatch.setattr(knowledge, "KNOWLEDGE_DIR", root)
    monkeypatch.setattr(knowledge.load_knowledge, "__defaults__", (root,))
    assert main(["knowledge", "check"]) == 1
    err = capsys.readouterr().err
    assert "criteria.yaml" in err and "nmae" in err


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
    assert figures["n"] == len(rows)
    assert figures["spearman"] > 0.5
    assert figures["pairwise_accuracy"] > 0.7
    assert figures["low_quality_above_2"] == 0


def test_eval_prints_readable_figures(capsys):
    assert main(["eval", str(CALIBRATION)]) == 0
    out = capsys.readouterr().out
    assert "Spearman" in out and "pairwise ranking accuracy" in out and "mean absolute error" in out


def test_grade_refuses_an_unknown_stage_naming_the_line(tmp_path, capsys):
    source = tmp_path / "answers.jsonl"
    source.write_text(json.dumps({"stage": "tea_break", "question": "Milk first?", "answer": "Always."}))
    assert main(["grade", str(source)]) == 1
    assert "line 1" in capsys.readouterr().err
