"""Job-tailored practice: which of the knowledge base's terms a pasted job description names.

The description is matched against the key-point terms of the questions, so "Kafka", "PostgreSQL"
or "caching" in an advert pull the questions about them forward. Pure text work, no I/O.
"""

from __future__ import annotations

import re

MAX_CHARS = 20_000  # a job description or CV summary longer than this is refused
MIN_TERM_CHARS = 3  # "go" or "db" in an advert say too little to steer the choice


def job_terms(kb, description: str) -> frozenset[str]:
    """The knowledge base's key-point terms the description mentions (lower case)."""
    if not description.strip():
        return frozenset()
    text = " " + " ".join(re.findall(r"[a-z0-9+#./-]+", description.lower())) + " "
    found = set()
    for term in _all_terms(kb):
        if len(term) >= MIN_TERM_CHARS and re.search(r"(?<![a-z0-9])" + re.escape(term), text):
            found.add(term)
    return frozenset(found)


def _all_terms(kb) -> set[str]:
    return {t.lower() for q in kb.questions.values() for p in q.key_points for t in p.terms}


def skills_exercised(kb, description: str, question_ids: list[str]) -> tuple[list[str], list[str]]:
    """(exercised, not exercised): the description's terms that the asked questions covered, and the rest."""
    named = job_terms(kb, description)
    asked = {t.lower() for qid in question_ids if qid in kb.questions for p in kb.questions[qid].key_points
             for t in p.terms}
    return sorted(named & asked), sorted(named - asked)
