"""Spotting answers that try to instruct the grader. Shared by every scorer."""

from __future__ import annotations

import re

_PATTERNS = [
    r"\b(ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(previous|prior|above|earlier|all|your|the)\b[^.!?\n]{0,30}\b(instruction|prompt|rule|rubric|guideline)",
    r"\b(score|grade|rate|mark)\s+(this|me|my|it|the candidate|the answer|the response)\b[^.!?\n]{0,40}\b(5|five|10|ten|100|full marks|maximum|perfect|highest|excellent)\b",  # noqa: E501 (one pattern per line reads better than a split regex)
    r"\bgive\s+(me|this|it|the candidate|this answer|all criteria|every criterion)\b[^.!?\n]{0,30}\b(5|five|full marks|maximum|perfect|top|highest)\b",  # noqa: E501 (one pattern per line reads better than a split regex)
    r"\byou are (now )?(the|a|an) (grader|evaluator|judge|assistant|system|ai)\b",
    r"(^|\n)\s*(system|assistant|developer)\s*:",
    r"\bnew (instructions|rules)\b",
    r"</?\s*(answer|candidate_answer|system|instructions?)\s*>",
    r"\b(all|every) criteri(a|on)\b[^.!?\n]{0,30}\b(5|five|met|satisfied|excellent)\b",
    r"\bthis answer (is|deserves)\b[^.!?\n]{0,30}\b(excellent|perfect|a 5|full marks|the highest)\b",
    r"\bas the (grader|evaluator|judge)\b",
]
_COMPILED = [re.compile(p, re.IGNORECASE) for p in _PATTERNS]


def injection_evidence(answer: str) -> list[str]:
    """The passages of an answer that read as instructions to whoever grades it."""
    found = []
    for pattern in _COMPILED:
        for match in pattern.finditer(answer):
            snippet = match.group(0).strip()
            if snippet and snippet not in found:
                found.append(snippet)
    return found


def looks_like_injection(answer: str) -> bool:
    return bool(injection_evidence(answer))
