"""Model answers: one per question (checked), shown in coach mode and linked from the report and review."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from coach.knowledge import KNOWLEDGE_DIR, KnowledgeError, load_knowledge
from tests.support.answers import strong_answer
from tests.support.api import auth, start
from tests.support.review import account, sessions  # noqa: F401  (fixtures)
from tests.test_pages import web  # noqa: F401  (fixture)


@pytest.fixture
def knowledge_copy(tmp_path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, root)
    return root


def edit_answers(root: Path, stage: str, change) -> None:
    path = root / "model_answers" / f"{stage}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["model_answers"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_every_question_task_and_scenario_has_a_model_answer(kb):
    assert set(kb.model_answers) == set(kb.questions)
    assert {q.kind for q in kb.questions.values()} >= {"question", "task"}
    assert all(len(answer.split()) >= 60 for answer in kb.model_answers.values())


def test_a_question_without_a_model_answer_fails_the_check_and_says_where_to_add_it(knowledge_copy):
    edit_answers(knowledge_copy, "technical", lambda items: items.pop(0))
    with pytest.raises(KnowledgeError, match=r"question tech-sql-vs-nosql: no model answer; add one to .*technical\.yaml"):
        load_knowledge(knowledge_copy)


def test_a_model_answer_for_an_unknown_question_fails_the_check(knowledge_copy):
    edit_answers(knowledge_copy, "coding", lambda items: items.append({"question": "coding-nope", "answer": "x" * 300}))
    with pytest.raises(KnowledgeError, match="unknown question 'coding-nope'"):
        load_knowledge(knowledge_copy)


def test_a_second_model_answer_for_one_question_fails_the_check(knowledge_copy):
    edit_answers(knowledge_copy, "final", lambda items: items.append(dict(items[0])))
    with pytest.raises(KnowledgeError, match="second model answer"):
        load_knowledge(knowledge_copy)


def test_the_rubric_carries_the_model_answer_and_a_generic_rubric_none(kb):
    question = kb.questions["coding-lru-cache"]
    assert kb.rubric_for(question).model_answer == kb.model_answers["coding-lru-cache"]
    assert kb.generic_rubric(kb.stage("coding")).model_answer is None


def answer_first(client, kb, mode: str) -> tuple[dict, dict]:
    session = start(client, seed=4, mode=mode, stages=["phone_screen"])
    question_id = session["question"]["id"]
    response = client.post(f"/api/sessions/{session['id']}/answers", json={"text": strong_answer(kb, question_id)},
                           headers=auth(session["token"]))
    assert response.status_code == 200, response.text
    return session, response.json()


def test_coach_mode_returns_the_model_answer_with_the_feedback(client, kb):
    session, body = answer_first(client, kb, "coach")
    assert body["grade"]["status"] == "done"
    assert body["model_answer"] == kb.model_answers[session["question"]["id"]]


def test_interview_mode_keeps_the_model_answer_back_like_the_grade(client, kb):
    _, body = answer_first(client, kb, "interview")
    assert body["grade"] is None and body["model_answer"] is None


def test_the_report_links_each_answer_to_its_question_page(web, kb):
    from tests.test_pages import answer, begin, soup

    session_id, token = begin(web)
    question_id = soup(web.get(f"/s/{session_id}")).select_one("#chat")["data-question"]
    answer(web, session_id, token, strong_answer(kb, question_id))
    chat = soup(web.get(f"/s/{session_id}"))
    reference = chat.select_one("li.candidate details.model-answer[open]")
    assert reference.select_one("summary").get_text() == "What a strong answer covers"
    assert reference.select_one("p").get_text() == kb.model_answers[question_id]
    web.post(f"/api/sessions/{session_id}/finish", headers=auth(token))
    report = soup(web.get(f"/s/{session_id}/report"))
    links = [a["href"] for a in report.select(".exchange .model-answer-link a")]
    assert f"/questions/{question_id}#model-answer" in links
    page = soup(web.get(f"/questions/{question_id}"))
    assert page.select_one("#model-answer").get_text() == "What a strong answer covers"
    assert page.select_one(".model-answer-text").get_text() == kb.model_answers[question_id]
    assert web.get("/questions/not-a-question").status_code == 404


def test_a_model_answer_is_escaped_on_the_question_page(client, kb, monkeypatch):
    question_id = "tech-acid-properties"
    monkeypatch.setitem(kb.model_answers, question_id, "<script>alert(1)</script> atomicity first")
    from coach.api.deps import get_kb

    client.app.dependency_overrides[get_kb] = lambda: kb
    page = client.get(f"/questions/{question_id}")
    client.app.dependency_overrides.clear()
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text


def test_the_reviewer_transcript_links_each_answer_to_its_model_answer(client, account, sessions):
    from tests.support.review import login, soup

    login(client, account)
    page = soup(client.get(f"/review/sessions/{sessions['senior']['id']}"))
    answers = page.select("li.turn-candidate")
    links = [a["href"] for a in page.select("li.turn-candidate .model-answer-link a")]
    assert answers and len(links) == len(answers)
    assert all(href.startswith("/questions/") and href.endswith("#model-answer") for href in links)
    assert client.get(links[0].split("#")[0]).status_code == 200
