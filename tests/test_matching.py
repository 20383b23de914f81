"""Question matching: a paraphrase finds its knowledge-base question, an unrelated question none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coach.knowledge import KnowledgeError, load_knowledge
from coach.matching import match_figures

SET = Path(__file__).resolve().parent.parent / "eval" / "paraphrases.jsonl"


def rows(split: str) -> list[dict]:
    return [r for r in map(json.loads, SET.read_text(encoding="utf-8").splitlines()) if r["split"] == split]


@pytest.mark.parametrize("split", ["dev", "holdout"])
def test_nine_in_ten_paraphrases_match_and_none_matches_wrongly(kb, split):
    figures = match_figures(kb.matcher, rows(split))
    assert figures.wrong == 0
    assert figures.rate >= 0.9


def test_the_set_has_unrelated_questions_and_every_id_exists(kb):
    every = rows("dev") + rows("holdout")
    assert sum(r["expected"] is None for r in every) >= 15
    assert {r["expected"] for r in every} - {None} <= set(kb.questions)


def test_every_question_matches_its_own_wording_and_each_stage_stays_apart(kb):
    for question in kb.questions.values():
        assert kb.match_question(question.prompt, question.stage) is question
        assert kb.match_question(question.prompt.upper(), question.stage) is question


@pytest.mark.parametrize("text", ["When could you start?", "What is the capital of France?", "", "   ", "???"])
def test_an_unrelated_or_empty_question_maps_to_none(kb, text):
    assert kb.match_question(text, "phone_screen") is None
    assert kb.match_question(text) is None


def test_the_knowledge_base_gives_the_rubric_of_a_paraphrased_question_once(kb):
    text = "What does ACID stand for in database transactions?"
    question, rubric = kb.rubric_for_answer(stage="technical", question_id=None, question_text=text)
    assert question.id == "tech-acid-properties" and rubric.question_id == "tech-acid-properties"
    again = kb.rubric_for_answer(stage="technical", question_id=None, question_text="Explain the ACID properties.")
    assert again[1] is rubric  # built once, then cached


def test_an_unmatched_question_gets_the_stage_rubric_and_an_unknown_stage_fails(kb):
    question, rubric = kb.rubric_for_answer(stage="coding", question_id=None, question_text="Reverse a linked list.")
    assert question is None and rubric.question_id is None
    assert [c.id for c in rubric.criteria] == kb.stage("coding").generic_rubric.criteria
    with pytest.raises(KeyError):
        kb.rubric_for_answer(stage="karaoke", question_id=None, question_text="Sing something.")


def test_coach_grade_grades_a_paraphrase_against_the_question_rubric(tmp_path, capsys, kb):
    from coach.cli import main

    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps({
        "stage": "technical", "question": "How is authn different from authz?",
        "answer": "Authentication checks who you are, for example a password or a token; authorization decides "
                  "what you may do, such as role-based access to an admin endpoint.",
    }) + "\n")
    assert main(["grade", str(answers)]) == 0
    grade = json.loads(capsys.readouterr().out)["grade"]
    rubric = kb.rubric_for(kb.questions["tech-authn-vs-authz"])
    assert grade["rubric_version"] == rubric.version


def test_coach_eval_matching_prints_both_parts(capsys):
    from coach.cli import main

    assert main(["eval-matching"]) == 0
    out = capsys.readouterr().out
    assert "dev:" in out and "holdout:" in out and "0 wrong matches" in out


def test_a_synonym_group_with_one_term_fails_the_check(tmp_path):
    import shutil

    root = tmp_path / "knowledge"
    shutil.copytree(Path(load_knowledge.__defaults__[0]), root)
    (root / "synonyms.yaml").write_text("synonyms:\n  - terms: [lonely]\n")
    with pytest.raises(KnowledgeError, match="synonyms"):
        load_knowledge(root)
