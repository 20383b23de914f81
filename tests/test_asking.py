"""The rule that tells a question to the interviewer from an answer, on examples of each."""

from __future__ import annotations

import pytest

from coach.asking import has_no_more_questions, is_non_answer, recognise

QUESTIONS = [
    ("How many daily active users should I design for?", "clarify"),
    ("Before I start, a few questions. What's the read/write ratio? And what latency do we need?", "clarify"),
    ("Is it OK to assume the links never expire?", "clarify"),
    ("Can I use an in-memory store for the exercise?", "clarify"),
    ("Do we need to support custom aliases? Thanks.", "clarify"),
    ("Sorry, could you repeat that?", "repeat"),
    ("Can you say that again please", "repeat"),
    ("What do you mean by a home feed?", "meaning"),
    ("Could you clarify what you mean by freshness?", "meaning"),
    ("What does fan-out mean here?", "meaning"),
]
ANSWERS = [
    "I'd put a cache in front of the database. Why? Because reads outnumber writes a hundred to one and hot links repeat.",
    "Why does this matter? It matters because a cache miss costs us 50 ms on every redirect and users notice that.",
    "I would shard the table by user id so each shard stays small and rebalancing is cheap. Does that make sense?",
    "Isn't that the whole point of a queue?",
    "```python\ndef get(self, key):\n    return self.data.get(key)  # what if the key is missing?\n```",
    "We used Kafka for ingestion, Spark for processing and Cassandra for storage, and I owned the ingestion part.",
    "Who doesn't love clean code?",
    " ".join(["The design has a gateway, a queue and workers, and each part scales on its own?"] * 8),
]


@pytest.mark.parametrize("text, kind", QUESTIONS)
def test_questions_to_the_interviewer_are_recognised(text, kind):
    assert recognise(text) == kind


@pytest.mark.parametrize("text", ANSWERS)
def test_answers_with_a_question_mark_and_rhetorical_questions_are_answers(text):
    assert recognise(text) is None


@pytest.mark.parametrize("text, done", [
    ("No, I think you've covered everything.", True), ("Nothing else, thanks", True), ("That's all.", True),
    ("No more questions from me", True), ("Nope", True),
    ("What does on-call look like?", False), ("Not yet - how big is the team?", False),
])
def test_no_more_questions(text, done):
    assert has_no_more_questions(text) is done


PHRASES = ["not sure", "no idea", "i don't know"]


@pytest.mark.parametrize("text, empty", [
    ("Not sure, a lot probably.", True), ("No idea.", True), ("I don't know", True), ("ok", True),
    ("I'm not sure it's the best option, but I'd use a queue so writes survive a crash and retry later.", False),
    ("A hash map for lookups and a doubly linked list for recency.", False),
])
def test_non_answers(text, empty):
    assert is_non_answer(text, PHRASES, min_words=4) is empty
