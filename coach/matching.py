"""Which knowledge-base question a free-text question asks, in whatever words it is put.

Deterministic and offline: each question is a bag of stemmed words from its prompt, its key
points and its follow-ups, with the domain's synonyms (knowledge/synonyms.yaml) folded to one
word each ("authn" and "authentication", "link shortener" and "url shortener"). A question
text matches the knowledge-base question that covers the most of its informative words,
weighted by how rare each word is among the questions (IDF), and only when that cover is high
enough and clearly ahead of the runner-up: an unrelated question maps to none rather than to
the least bad one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

# Words that say nothing about what a question asks.
STOPWORDS = frozenset("""
a about above after again all also am an and any anything are as at be been before being both but by can could
did do does doing done each either else ever every few for from get give go going got had has have having he her
here him his how i if in into is it its just kind know let like lot made make many may me might more most much
must my need new no nor not now of off on once one only or other our out over own please put quite rather really
s say see she should so some something such tell than that the their them then there these they thing things
this those through to too under up us use used using very walk want was way we well were what when where which
while who whom why will with would you your yours talk describe explain share example examples give
me time times us let's lets happened happen bit ones give go through
""".split())
_WORD = re.compile(r"[a-z0-9]+(?:[.+#][a-z0-9]+)*")
_SUFFIXES = ("ations", "ation", "ings", "ing", "ities", "ity", "ies", "ied", "ers", "er", "ed", "es", "s", "ly",
             "ments", "ment", "e")

# How much a word found in each part of a question counts towards a match.
FIELD_WEIGHTS = {"prompt": 1.0, "points": 0.6, "follow_ups": 0.5}
# A word no question uses is specific content the knowledge base does not cover ("palindrome",
# "TCP"): it counts against every match as much as the rarest known word.

# A match needs the best question to cover at least MIN_COVER of the query's weight and to lead
# the runner-up; the thinner the cover, the clearer the lead must be.
MIN_COVER, SURE_COVER, MIN_LEAD = 0.2, 0.5, 0.05


def stem(word: str) -> str:
    """A light suffix stripper: caching/cache/cached -> cach, indexes -> index, optimise/optimize -> optimis."""
    word = word.replace("iz", "is") if len(word) > 5 else word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


# Words every kind of interview question uses: they count, but little, so that "design a chess
# engine" is not taken for "design a recommendation engine".
GENERIC = frozenset(stem(w) for w in """
difference between compare design build write implement function code system service application app project
experience work backend engineer developer software handle approach good best common main important example
create make run runs running built working engine game used usually typical day start begin end take part far
share piece lately recent choose pick involved ever whether
""".split())
GENERIC_WEIGHT = 0.3
_STOP_STEMS = STOPWORDS | {stem(w) for w in STOPWORDS}


@dataclass(frozen=True)
class Vocabulary:
    """Folds synonyms: every phrase of a group becomes the group's first term."""

    phrases: tuple[tuple[str, str], ...]  # (phrase as a spaced stem sequence, canonical token), longest first

    @classmethod
    def from_groups(cls, groups: list[list[str]]) -> Vocabulary:
        pairs = []
        for group in groups:
            canonical = "_".join(_stems(group[0]))  # one token, never a stopword
            pairs += [(" ".join(_stems(term)), canonical) for term in group if " ".join(_stems(term)) != canonical]
        pairs.sort(key=lambda p: -len(p[0].split()))
        return cls(tuple(pairs))

    def tokens(self, text: str) -> list[str]:
        """The informative words of `text`, stemmed, with synonyms folded (phrases before stopwords go)."""
        stems = " " + " ".join(_stems(text)) + " "
        for phrase, canonical in self.phrases:
            if f" {phrase} " in stems:
                # twice: str.replace skips a match that shares its leading space with the one before
                for _ in range(2):
                    stems = stems.replace(f" {phrase} ", f" {canonical} ")
        return [t for t in stems.split() if t not in _STOP_STEMS]


def _stems(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.lower().replace("-", " "))]


@dataclass(frozen=True)
class Candidate:
    question_id: str
    stage: str
    fields: dict[str, frozenset[str]]


@dataclass(frozen=True)
class Match:
    question_id: str | None  # None: no question asks this
    score: float  # share of the query's weight the best question covers
    runner_up: float


def _clear_winner(best: float, runner_up: float) -> bool:
    needed_lead = max(MIN_LEAD, (SURE_COVER - best) / 2)
    return best >= MIN_COVER and best - runner_up >= needed_lead


class QuestionMatcher:
    def __init__(self, questions, synonym_groups: list[list[str]]):
        self.vocabulary = Vocabulary.from_groups(synonym_groups)
        self.candidates = [self._candidate(q) for q in questions]
        document_frequency = Counter(t for c in self.candidates for t in set().union(*c.fields.values()))
        n = len(self.candidates)
        self.idf = {t: math.log((n + 1) / (df + 0.5)) for t, df in document_frequency.items()}
        self.unknown_idf = math.log((n + 1) / 0.5)

    def _candidate(self, question) -> Candidate:
        tokens = self.vocabulary.tokens
        points = " ".join(p.text for p in question.key_points)
        return Candidate(question.id, question.stage, {
            "prompt": frozenset(tokens(question.prompt) + tokens(question.id.replace("-", " "))),
            "points": frozenset(tokens(points)),
            "follow_ups": frozenset(tokens(" ".join(f.prompt for f in question.follow_ups))),
        })

    def match(self, text: str, stage: str | None = None) -> Match:
        query = set(self.vocabulary.tokens(text))
        pool = [c for c in self.candidates if stage is None or c.stage == stage]
        if not query - GENERIC or not pool:  # "when could you start?" names nothing a question is about
            return Match(None, 0.0, 0.0)
        total = sum(self._weight(t) for t in query)
        scored = sorted(((self._cover(query, c) / total, c.question_id) for c in pool), reverse=True)
        best, runner_up = scored[0][0], (scored[1][0] if len(scored) > 1 else 0.0)
        found = scored[0][1] if _clear_winner(best, runner_up) else None
        return Match(found, round(best, 3), round(runner_up, 3))

    def _weight(self, token: str) -> float:
        if token in GENERIC:
            return GENERIC_WEIGHT
        return self.idf.get(token, self.unknown_idf)

    def _cover(self, query: set[str], candidate: Candidate) -> float:
        cover = 0.0
        for token in query:
            credit = max((FIELD_WEIGHTS[f] for f, words in candidate.fields.items() if token in words), default=0.0)
            cover += credit * self._weight(token)
        return cover


@dataclass(frozen=True)
class MatchFigures:
    """How a matcher does on a labelled set of questions (expected id, or None for unrelated)."""

    total: int
    matched: int  # mapped to the expected question, or to none when none was expected
    missed: int  # mapped to none although a question was expected
    wrong: int  # mapped to a question other than the expected one

    @property
    def rate(self) -> float:
        return self.matched / self.total if self.total else 0.0


def match_figures(matcher: QuestionMatcher, rows: list[dict]) -> MatchFigures:
    """`rows`: dicts with stage, question and expected (a question id or None)."""
    matched = missed = wrong = 0
    for row in rows:
        found = matcher.match(row["question"], row.get("stage")).question_id
        if found == row["expected"]:
            matched += 1
        elif found is None:
            missed += 1
        else:
            wrong += 1
    return MatchFigures(len(rows), matched, missed, wrong)
