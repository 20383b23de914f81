"""Small text helpers the scorers share: sentences kept verbatim, prefix term matching."""

from __future__ import annotations

import re
from functools import lru_cache

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)", re.MULTILINE)
_WORD = re.compile(r"[a-z0-9][a-z0-9'+#-]*")

# Words that join reasons, conditions and consequences: what an explanation has and a list lacks.
EXPLAINERS = (
    "because", "so that", "which", "when", "since", "means", "allows", "lets", "if ", "instead",
    "but ", "however", "while", "for example", "e.g.", "such as", "therefore", "otherwise",
    "trade-off", "tradeoff", "so we", "so i", "so the", "by ", "to avoid", "in order to", "unless",
    "then ", "whereas", "rather than",
)


def sentences(text: str) -> list[str]:
    """The answer's sentences (and lines), each a verbatim substring of it."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@lru_cache(maxsize=4096)
def term_pattern(term: str) -> re.Pattern:
    """A term matches at a word start, so 'index' also matches 'indexes' and 'indexing'."""
    return re.compile(r"(?<![a-z0-9])" + re.escape(term.lower()))


def mentions(text: str, term: str) -> bool:
    return term_pattern(term).search(text.lower()) is not None


def hits(text: str, terms: list[str]) -> list[str]:
    lowered = text.lower()
    return [t for t in terms if term_pattern(t).search(lowered)]


@lru_cache(maxsize=4096)
def any_term_pattern(terms: tuple[str, ...]) -> re.Pattern | None:
    """One pattern that matches where any of the terms matches (as `term_pattern`), None for no terms.

    Searching it once says what `hits(text, terms)` being non-empty says, in one scan of the text."""
    if not terms:
        return None
    alternatives = "|".join(re.escape(t.lower()) for t in terms)
    return re.compile(r"(?<![a-z0-9])(?:" + alternatives + ")")


def mentions_any(lowered: str, terms: tuple[str, ...]) -> bool:
    """True if `lowered` (already lower-cased) names any of the terms: `bool(hits(text, terms))`, faster."""
    pattern = any_term_pattern(terms)
    return pattern is not None and pattern.search(lowered) is not None


def is_explanatory(sentence: str) -> bool:
    """A sentence that reasons rather than names: long enough and with a connective."""
    lowered = f" {sentence.lower()} "
    return len(words(sentence)) >= 7 and any(e in lowered for e in EXPLAINERS)
