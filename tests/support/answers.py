"""Answers for tests, written from the knowledge base so they track it."""

from __future__ import annotations


def strong_answer(kb, question_id: str) -> str:
    """An answer that explains every key point of the question, with reasons."""
    question = kb.questions[question_id]
    lines = [
        f"{point.text.rstrip('.')}, which matters because {', '.join(point.terms[:3])} decide how it behaves in production."
        for point in question.key_points
    ]
    if question.stage == "behavioral":
        lines.insert(0, "At my previous company I was responsible for the payments service when this happened.")
        lines.append("I decided to act, and as a result we reduced incidents by 40% and I learned a lot.")
    return " ".join(lines)


def weak_answer() -> str:
    return "I would probably look into it and do what the team usually does there, it depends."


def phase_answer(kb, question_id: str, phase_id: str | None) -> str:
    """A strong answer that also covers what the format's phase itself listens for."""
    if phase_id is None:
        return strong_answer(kb, question_id)
    phase = kb.formats.for_stage(kb.questions[question_id].stage).phase(phase_id)
    extra = [f"{p.text.rstrip('.')}, with {', '.join(p.terms[:3])} in mind." for p in phase.key_points]
    return " ".join([strong_answer(kb, question_id), *extra])
