"""An interviewer who listens: for every knowledge-base question (and every phase of every
scenario and task), an answer that covers a key point never gets a follow-up probing that point."""

from __future__ import annotations

from datetime import datetime

from coach.engine import SessionPlan, StagePlan, advance, start
from coach.listening import listen, points_for

T0 = datetime(2026, 1, 1, 9, 0)


def asked_items(kb):
    """(question, phase) for every main question and every phase of every scenario and task."""
    for question in kb.questions.values():
        fmt = kb.formats.for_stage(question.stage)
        if fmt.kind == "phased" and question.id in kb.sheets:
            yield from ((question, phase.id) for phase in fmt.phases)
        else:
            yield question, None


def answers_covering(term: str) -> list[str]:
    """An answer naming the term in prose, and one where only the code names it."""
    return [
        f"In the last project I handled this directly: {term} was the part I spent most time on, and it worked.",
        f"Here is the code I would write, and it handles the usual cases:\n```python\nvalue = handle('{term}')\n```",
    ]


def probe(kb, question, phase, text: str) -> str | None:
    heard = listen(kb, question, phase, so_far=text, this=text)
    stage = StagePlan(stage=question.stage, minutes=30, question_ids=[question.id], phases=[phase] if phase else [],
                      follow_up_depth=3)
    plan = SessionPlan(track="backend-developer", seniority="senior", stages=[stage])
    cursor, _ = start(plan, T0)
    _, step = advance(plan, cursor, now=T0, missed_points=heard.missed, follow_up_points=heard.follow_up_points,
                      non_answer=heard.non_answer)
    return step.point if step.kind == "follow_up" else None


def test_no_follow_up_probes_a_point_the_answer_covered_for_every_question(kb):
    walked = 0
    for question, phase in asked_items(kb):
        points, follow_ups = points_for(kb, question, phase)
        for follow_up in follow_ups:
            point = next(p for p in points if p.id == follow_up.point)
            for term in point.terms:
                for text in answers_covering(term):
                    assert probe(kb, question, phase, text) != point.id, (question.id, phase, point.id, term)
                    walked += 1
    assert walked > 1000


def test_a_probe_still_comes_for_a_point_the_answer_missed(kb):
    question = kb.questions["coding-todo-rest-api"]
    text = "I'd expose POST /todos returning 201 and GET, PUT and DELETE on /todos/{id}, with 404 when missing."
    assert probe(kb, question, None, text) is not None


def test_validation_written_in_code_is_heard(kb):
    question = kb.questions["coding-todo-rest-api"]
    code = ("```python\nclass TodoIn(BaseModel):\n    title: str = Field(min_length=1, max_length=200)\n```\n"
            "POST /todos returns 201, GET /todos/{id} returns 404 when missing.")
    assert probe(kb, question, None, code) != "input-validation"
    heard = listen(kb, question, "code", so_far=code, this=code)
    assert "input-validation" not in heard.missed


def test_the_probe_refers_to_what_the_candidate_said(kb):
    question = kb.questions["add-challenging-project"]
    text = "We ingested 2 TB a day through Kafka and processed it with Spark; latency had to stay under a second."
    heard = listen(kb, question, None, so_far=text, this=text)
    assert heard.quote and heard.quote.lower() in text.lower()
