"""The offline scorer: a deterministic rubric grader that needs no model download.

How it reads an answer:
1. Cut it into units (sentences; code blocks whole) and set aside what earns nothing: text hidden in
   comments, repeated units, units copied from the question or rubric, term lists and term salad
   ("sharding because ACID which means ..."), and terms the candidate negates ("I have never used").
2. Measure the rest with a handful of features (key points covered and explained, criterion
   evidence, substance, concrete detail, lived experience, trade-offs, code) and turn them into a
   quality figure with a small linear model fitted on labeled answers (`eval/fit_offline.py`; its
   coefficients live in `offline_model.json`).
3. Each criterion's score starts from that quality and moves with its own evidence; a criterion no
   sentence shows never scores above 2, and it quotes only the units that show it.
Tricks are flagged and capped whatever else the answer says (see FLAG_CAPS).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from coach.knowledge import Criterion, KeyPoint, KnowledgeBase, Mistake
from coach.scoring import CriterionScore, Grade, GradingItem, MistakeFound, capped, overall_score
from coach.scoring.injection import injection_evidence
from coach.scoring.test_results import with_test_results
from coach.scoring.text import (
    LANGUAGE_NAMES,
    STOPWORDS,
    Unit,
    any_term_pattern,
    as_unit,
    language_of,
    term_index,
    units,
    visible_text,
    words,
)

MODEL_PATH = Path(__file__).with_name("offline_model.json")
MIN_WORDS = 6
NON_ANSWERS = {"i don't know", "i dont know", "pass", "skip", "no idea", "n/a", "idk", "not sure", "no idea, sorry",
               "sorry, no idea", "no", "nothing", "no, i'm good", "no questions"}
STAR_CRITERIA = {"star-situation", "star-task", "star-action", "star-result"}
# Signals that are connectives or discourse words: they show a criterion only inside a real sentence
# about the topic, never on their own.
GENERIC_SIGNALS = {"because", "which means", "therefore", "so that", "in order to", "first", "second", "finally",
                   "step", "overall", "in short", "let me", "the reason", "specifically", "in practice"}
QUESTION_FILLER = set(
    "tell describe explain walk would could your about time what which give example examples experience "
    "work worked working through make like think know want have there their them good best most some "
    "someone something thing things really please also other another kind into does doing done used using "
    "handle handled deal dealt approach approaches down shows show showed got get gets see going next without "
    "actually would you'd we're let's start started".split()
)

NEGATORS = frozenset({"never", "not", "no", "nor", "neither", "cannot", "dont"})
_NEGATOR = re.compile(r"\b(never|not|no|don't|dont|didn't|haven't|hasn't|hadn't|can't|cannot|won't|isn't|"
                      r"aren't|wasn't|weren't|nor|neither)\b(?:\s+\S+){0,4}\s*$")
_PAST_ACTION = re.compile(
    r"\b(i|we)\s+(?:\w+ly\s+|then\s+|also\s+|first\s+|finally\s+|later\s+|once\s+)?"
    r"(\w+ed|had|did|was|were|made|built|wrote|led|took|told|ran|found|saw|set|cut|shipped|went|got|gave|"
    r"chose|spent|kept|brought|began|put|sent|thought|knew|felt|left|met|paid|split|held|drove|rolled|"
    r"moved|spotted|caught|fixed|became|grew|won|lost|rewrote|taught|sat|stood|heard|hit|fell|read|"
    r"paired|broke|did)\b"
)
_HYPOTHETICAL = re.compile(r"\b(i would|i'd|i will|i'll|we would|we'd|you would|you should|you can|i usually|"
                           r"i always|i try to|i tend to|i generally)\b")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*\s*(%|percent|ms|x\b|k\b|gb|mb|tb|m\b)?")
_NAMED = re.compile(r"(?<=[a-z,;:(] )[A-Z][A-Za-z0-9]+|\b[a-zA-Z]+\d+\w*\b|\b[a-z]+[A-Z]\w+\b|\b[A-Z]{2,}\w*\b")
_CONTRAST = re.compile(r"\b(but|however|whereas|although|though|downside|drawback|trade-?offs?|at the cost|"
                       r"instead of|rather than|on the other hand|you give up|you pay|the cost|costs?|"
                       r"depends on|unless|risk)\b")
_OVERCLAIM = re.compile(r"\b(always|never|no cost|no downside|no drawbacks?|for free|instant(ly)?|can't happen|"
                        r"cannot happen|guarantee[sd]?|100%|every column|impossible|only ever)\b")
_VAGUE = re.compile(r"\b(etc|stuff|things like that|basically|some kind of|whatever|something like|"
                    r"and so on|i guess|probably|i think|sort of|kind of|or something)\b")
_FILLER = re.compile(r"\b(good question|great question|glad you asked|as i (said|mentioned)|in general|"
                     r"at the end of the day|it is what it is|worth (knowing|mentioning)|many (teams|companies|people)|"
                     r"a lot of (opinions|companies|people)|to be honest|let me think|that is the main thing|"
                     r"all in all|needless to say|it goes without saying|so yes|you know)\b")
_RESULT = re.compile(r"\b(reduced|cut|dropped|fell|went from|improved|increased|decreased|saved|halved|doubled|"
                     r"shipped|launched|delivered|since then|as a result|in the end|afterwards|now (we|i|it)|"
                     r"zero|no longer|faster|fewer|led to|ended up)\b")

# Ways a criterion shows beyond the rubric's own signal phrases: what an interviewer hears as it.
DETECTORS: dict[str, re.Pattern] = {
    "concrete-examples": re.compile(_PAST_ACTION.pattern + r"|\b(for example|for instance|e\.g\.|last (year|month|"
                                    r"quarter|week|spring|summer|autumn|winter)|at my (last|previous|current)|"
                                    r"in my (last|previous|current)|once)\b|\d"),
    "star-situation": re.compile(r"\b(last|two|three|four|\d+) (years?|months?|quarters?|spring|summer|autumn|"
                                 r"winter|weeks?)( ago)?\b|\bin (19|20)\d\d\b|\bat my (last|previous|current|"
                                 r"first)\b|\b(once|we had|we were|i was|there was|our team|when i joined|"
                                 r"a colleague|my lead|my manager)\b"),
    "star-task": re.compile(r"\b(i|we) (had|needed|was asked|were asked) to\b|\bmy (role|job|task|"
                            r"responsibility)\b|\bi was (responsible|on call|the one|asked|leading)\b|\bthe goal\b"),
    "star-action": _PAST_ACTION,
    "star-result": re.compile(_RESULT.pattern + r"|\d+\s*(%|percent|ms|seconds|minutes|hours|days|weeks|x)\b"),
    "reflection-and-learning": re.compile(r"\b(since then|now (we|i)|looking back|in hindsight|lessons?|learned|"
                                          r"today i'?d|if i did it again|next time|i'd (do|keep|put|choose))\b"),
    "accountability": re.compile(r"\b(my (change|mistake|fault|migration|deploy)|it was my|i owned|i took|"
                                 r"i apologi[sz]ed|i told .* it was)\b"),
    "trade-offs": _CONTRAST,
    "articulating-design-decisions": re.compile(r"\b(i|we) (chose|picked|went with|decided|proposed)\b|"
                                                r"\b(because|instead of|rather than|the reason)\b"),
    "realistic-expectations": re.compile(r"\d|\b(range|based on|survey|market|flexible|package)\b"),
    "relevant-background": re.compile(_PAST_ACTION.pattern + r"|\b(years?|experience|worked|built|my (current|last)"
                                      r"|at (my|a) )\b"),
}


# Criteria about the quality of reasoning rather than a subject: any unit that explains the topic shows them.
REASONING_CRITERIA = {"technical-accuracy", "depth-of-reasoning", "clear-communication", "problem-solving-approach",
                      "code-functionality", "communication-while-coding", "code-quality", "best-practices"}
# What else shows that a mistake of omission was not made, beyond the rubric's own term list.
OMISSION_DETECTORS: dict[str, re.Pattern] = {
    "no-trade-offs-discussed": _CONTRAST,
    "no-measurable-result": re.compile(_RESULT.pattern + r"|\d"),
    "no-personal-role": _PAST_ACTION,
    "no-complexity-analysis": re.compile(r"o\(|complexity|constant time|linear|log n"),
    "no-lessons-learned": DETECTORS["reflection-and-learning"],
    "no-rollback-or-mitigation": re.compile(r"\b(roll(ed)? ?back|revert|killed|disabled|paused)\b"),
}
# Words that show an answer is on the topic of such a criterion, beyond its signals.
TOPIC_WORDS = {
    "realistic-expectations": ("0k", "1k", "2k", "3k", "4k", "5k", "6k", "7k", "8k", "9k", "000", "range", "base",
                               "euro", "dollar", "pound", "open to", "discuss", "package", "equity"),
    "thoughtful-candidate-questions": ("what does", "how does", "how do", "what is", "what's", "who ", "could you"),
}
# Detectors that fire on any lived detail; they show their criterion but not that the answer is on topic.
BROAD_DETECTORS = {"concrete-examples", "relevant-background", "star-situation", "star-task", "star-action",
                   "star-result", "trade-offs", "articulating-design-decisions"}
# Key-point terms that are everyday words: alone they do not put a sentence on a technical topic.
EVERYDAY_TERMS = set(
    "next learn learned years year time team goal good fast get make work change use data people job plan "
    "role store load error test grow growth help new best".split()
)
# Stages whose questions are answered with lived stories in everyday words: a story is substance there.
STORY_STAGES = {"behavioral", "architecture_deep_dive", "phone_screen"}
CONVERSATION_STAGES = {"phone_screen", "behavioral", "final"}
SPREAD = 0.8  # how far a criterion's own evidence moves its score away from the answer's quality


@dataclass
class Reading:
    """What the scorer made of an answer: its units, which of them earn credit, and why others don't."""

    units: list[Unit]
    credited: list[Unit]
    hidden: list[str]
    language: str
    topic: tuple[str, ...] = ()
    repeated: int = 0
    copied_words: int = 0
    telegraphic_words: int = 0
    prose_words: int = 0
    salad_units: int = 0
    negated_hits: int = 0
    term_hits: int = 0
    notes: list[str] = field(default_factory=list)


class OfflineScorer:
    name = "offline"

    def __init__(self, kb: KnowledgeBase | None = None):
        self.kb = kb

    def grade(self, item: GradingItem) -> Grade:
        started = time.perf_counter()
        grade = grade_answer(item, self.kb)
        grade.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return grade


# --- reading ------------------------------------------------------------------------------


def read_answer(item: GradingItem, kb: KnowledgeBase | None = None) -> Reading:
    visible, hidden = visible_text(item.answer)
    all_units = units(visible)
    prose = " ".join(u.text for u in all_units if not u.is_code)
    topic = topic_terms(item, kb) + _detector_terms(item)
    reading = Reading(units=all_units, credited=[], hidden=hidden, language=language_of(prose), topic=topic)
    reference = _reference_trigrams(item, kb)
    asked = set(question_stems(item.question_text))
    seen: set[tuple[str, ...]] = set()
    for unit in all_units:
        if not unit.is_code:
            reading.prose_words += len(unit.tokens)
        key = unit.tokens
        if len(key) >= 4 and key in seen:
            reading.repeated += 1
            continue
        seen.add(key)
        if not unit.is_code and (_copied(unit, reference) or _echoes(unit, asked)):
            reading.copied_words += len(unit.tokens)
            continue
        if unit.telegraphic:
            reading.telegraphic_words += len(unit.tokens)
            reading.salad_units += _connective_count(unit) >= 2
            continue
        hits, negated = _term_hits(unit, topic)
        reading.term_hits += hits
        reading.negated_hits += negated
        if hits and negated >= hits and not unit.is_code:
            continue  # every topic term in it is negated: "I have never used Kafka"
        reading.credited.append(unit)
    return reading


def _connective_count(unit: Unit) -> int:
    return sum(t in ("because", "means", "therefore", "thus", "hence") for t in unit.tokens)


def _term_hits(unit: Unit, terms: tuple[str, ...]) -> tuple[int, int]:
    """How many topic terms the unit names, and how many of those follow a negation."""
    found = term_index(terms).found(unit)
    negated = sum(1 for index in found.values() if index is not None and _negated(unit, index))
    return len(found), negated


def _negated(unit: Unit, index: int) -> bool:
    """A negation among the five tokens before this one: "I have never used Kafka"."""
    return any(t in NEGATORS or t.endswith("n't") for t in unit.tokens[max(0, index - 5):index])


def _trigrams(tokens: tuple[str, ...] | list[str]) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + 3]) for i in range(len(tokens) - 2)}


def _reference_trigrams(item: GradingItem, kb: KnowledgeBase | None) -> tuple[frozenset, ...]:
    """Word trigrams of what the candidate was shown or could copy: the question, its rubric and model
    answer, and (when the knowledge base is at hand) any key point or model answer in it."""
    texts = [item.question_text]
    if item.question is not None:
        texts.append(item.question.prompt)
        texts.append(getattr(item.question, "model_answer", None) or "")
    shared = _knowledge_trigrams(kb) if kb is not None else frozenset()
    own = frozenset(t for text in texts for t in _trigrams(words(text)))
    return shared, _rubric_trigrams(item.rubric.version, tuple(_rubric_texts(item))), own


@cache
def _knowledge_trigrams(kb: KnowledgeBase) -> frozenset:
    texts = [p.text for q in kb.questions.values() for p in q.key_points]
    texts += [getattr(q, "model_answer", None) or "" for q in kb.questions.values()]
    texts += [level for c in kb.criteria.values() for level in (c.description, *c.levels.values())]
    return frozenset(t for text in texts for t in _trigrams(words(text)))


def _rubric_texts(item: GradingItem) -> list[str]:
    texts = [p.text for p in item.rubric.key_points]
    for criterion in item.rubric.criteria:
        texts.append(criterion.description)
        texts.extend(criterion.levels.values())
    texts.extend(f"{m.name}. {m.looks_like}" for m in item.rubric.mistakes)
    return texts


@cache
def _rubric_trigrams(_version: str, texts: tuple[str, ...]) -> frozenset:
    return frozenset(t for text in texts for t in _trigrams(words(text)))


def _copied(unit: Unit, references: tuple[frozenset, ...]) -> bool:
    grams = _trigrams(unit.tokens)
    return len(grams) >= 3 and sum(any(g in r for r in references) for g in grams) >= 0.6 * len(grams)


def _echoes(unit: Unit, asked: set[str]) -> bool:
    """A unit made only of the question's own words: restating the question adds nothing."""
    content = [t[:5] for t in unit.tokens if t not in STOPWORDS and t not in QUESTION_FILLER and t.isalpha()]
    return len(content) >= 3 and sum(t in asked for t in content) >= 0.8 * len(content)


def topic_terms(item: GradingItem, kb: KnowledgeBase | None = None) -> tuple[str, ...]:
    """Terms that show an answer is about this question: key-point terms, topical signals, question words.

    A question the knowledge base does not know is graded on its stage's generic rubric; then the
    stage's whole vocabulary (every key point of its questions) stands in for the missing key points."""
    terms = tuple(t for p in item.rubric.key_points for t in p.terms) + tuple(
        s for c in item.rubric.criteria if c.id not in STAR_CRITERIA for s in c.signals if s not in GENERIC_SIGNALS
    )
    if item.question is None and kb is not None:
        terms += _stage_vocabulary(kb, item.stage)
    return _topic_terms(item.rubric.version, item.question_text, terms)


def _detector_terms(item: GradingItem) -> tuple[str, ...]:
    """Words that put an answer on topic through a criterion's detector, e.g. a range for salary."""
    return tuple(t for c in item.rubric.criteria for t in TOPIC_WORDS.get(c.id, ()))


@cache
def _stage_vocabulary(kb: KnowledgeBase, stage: str) -> tuple[str, ...]:
    return tuple(sorted({t for q in kb.questions.values() if q.stage == stage for p in q.key_points for t in p.terms}))


@cache
def _topic_terms(_version: str, question_text: str, rubric_terms: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(rubric_terms) | set(question_stems(question_text))))


def question_stems(text: str) -> list[str]:
    """Content words of a question, cut to a stem so 'indexes' matches 'index' and 'indexing'."""
    return sorted({w[:5] if len(w) > 5 else w for w in words(text)
                   if len(w) >= 3 and w not in STOPWORDS and w not in QUESTION_FILLER and w.isalpha()})


# --- flags ----------------------------------------------------------------------------------


def answer_flags(item: GradingItem, reading: Reading, kb: KnowledgeBase | None) -> list[str]:
    flags = []
    if injection_evidence(item.answer):
        flags.append("prompt_injection")
    if reading.language != "en":
        flags.append("non_english")  # before "empty": words in another script are not nothing
        return flags
    if _is_empty(item, reading):
        flags.append("empty")
        return flags
    if reading.hidden and any(len(words(h)) >= 3 for h in reading.hidden):
        flags.append("hidden_text")
    if reading.repeated >= 3 and reading.repeated >= 0.3 * len(reading.units):
        flags.append("repetition")
    if reading.copied_words >= 0.5 * max(1, reading.prose_words):
        flags.append("copied_text")
    if reading.salad_units and (reading.salad_units >= 2 or _share(reading.telegraphic_words, reading) >= 0.25):
        flags.append("keyword_stuffing")
    elif _share(reading.telegraphic_words, reading) >= 0.5 and sum(map(_explains, reading.credited)) <= 1:
        flags.append("buzzwords")
    if reading.negated_hits >= 3 and reading.negated_hits >= 0.6 * reading.term_hits:
        flags.append("negated_terms")
    if _padded(reading):
        flags.append("padding")
    if not set(flags) & {"repetition", "copied_text", "keyword_stuffing", "buzzwords", "negated_terms", "padding"}:
        if not _on_topic(item, reading) or _answers_another_question(item, reading, kb):
            flags.append("off_topic")
    return flags


def _share(count: int, reading: Reading) -> float:
    return count / max(1, reading.prose_words)


def _is_empty(item: GradingItem, reading: Reading) -> bool:
    text = item.answer.strip().lower().rstrip(".!")
    substance = sum(len(u.tokens) for u in reading.units)
    return text in NON_ANSWERS or substance < MIN_WORDS and not any(u.is_code for u in reading.units)


def _padded(reading: Reading) -> bool:
    """Mostly filler ("that's a great question", "as I said, it's important") around little substance."""
    filler = [u for u in reading.credited if _is_filler(u, reading.topic)]
    filler_words = sum(len(u.tokens) for u in filler)
    substance = sum(len(u.tokens) for u in reading.credited) - filler_words
    return len(filler) >= 3 and filler_words >= 0.5 * max(1, reading.prose_words) and substance < 40


def _is_filler(unit: Unit, topic: tuple[str, ...]) -> bool:
    if unit.is_code:
        return False
    if _FILLER.search(unit.lowered):
        return True
    return not (_relevant(unit, topic) or _specifics(unit) or _PAST_ACTION.search(unit.lowered))


def _relevant(unit: Unit, topic: tuple[str, ...]) -> bool:
    """The unit names a topic term, or two everyday words of the topic ('next', 'learn', 'team')."""
    key = ("relevant", id(topic))
    if key not in unit.memo:
        found = term_index(topic).found(unit)
        unit.memo[key] = len(found) >= 2 or any(t not in EVERYDAY_TERMS for t in found)
    return unit.memo[key]





def _on_topic(item: GradingItem, reading: Reading) -> bool:
    relevant = [u for u in reading.credited if _relevant(u, reading.topic)]
    if item.stage in ("behavioral", "final", "phone_screen"):
        # Stories and motives are told in everyday words: any topical unit will do, or a lived story
        # when a story was asked for.
        story = item.stage == "behavioral" and sum(bool(_PAST_ACTION.search(u.lowered)) for u in reading.credited) >= 2
        return bool(relevant) or story
    return len(relevant) >= max(1, round(0.25 * len(reading.credited)))


def _answers_another_question(item: GradingItem, reading: Reading, kb: KnowledgeBase | None) -> bool:
    """True when the answer fits another knowledge-base question far better than the one asked.

    An excellent answer about Docker to a question about authorization is still not an answer."""
    if kb is None or not reading.credited:
        return False
    text = as_unit(" ".join(u.lowered for u in reading.credited))
    asked = question_stems(item.question_text)
    if item.question is None:
        return _fits_an_unrelated_question(asked, text, kb)
    own = _fit(item.rubric.key_points, text)
    if own == 0 and len(text.tokens) >= 25 and item.stage not in CONVERSATION_STAGES:
        # A substantial technical answer that touches none of the question's key points. (Talk about
        # oneself uses words no key-point list can foresee, so it is not judged this way.)
        return True
    if own >= 0.5:
        return False
    for other in kb.questions.values():
        if other.id == item.question.id or len(set(asked) & set(question_stems(other.prompt))) >= 2:
            continue  # a question on the same subject: fitting it well is fitting this one
        if other.stage == item.stage and item.stage in CONVERSATION_STAGES:
            continue  # talk about oneself answers several of a stage's questions at once
        if _fit(other.key_points, text) >= max(0.6, own + 0.4):
            return True
    return False


def _fits_an_unrelated_question(asked: list[str], text: Unit, kb: KnowledgeBase) -> bool:
    """For a question the knowledge base does not match: the question resembles some knowledge-base
    questions (shares two content words with their prompt), the answer covers none of them, and it
    covers most of a question that shares no word with the one asked."""
    stems = _prompt_stems(kb)
    asked_set = set(asked)
    shared = {qid: len(asked_set & theirs) for qid, theirs in stems.items()}
    resembling = {qid for qid, n in shared.items() if n >= 2 and n >= 0.5 * len(asked_set)}
    if not resembling:
        return False
    best = max(_fit(kb.questions[qid].key_points, text) for qid in resembling)
    if best == 0 and len(text.tokens) >= 25:
        return True  # not one key point of any question like the one asked
    return best < 0.3 and any(not shared[q.id] and _fit(q.key_points, text) >= 0.8 for q in kb.questions.values())


@cache
def _prompt_stems(kb: KnowledgeBase) -> dict[str, set[str]]:
    return {q.id: set(question_stems(q.prompt)) for q in kb.questions.values()}


def _fit(points: list[KeyPoint], text: Unit) -> float:
    """The share of the key points that the text names a term of."""
    if not points:
        return 0.0
    return sum(term_index(tuple(p.terms)).any_in(text) for p in points) / len(points)


def _stem_fit(question_text: str, text: Unit) -> float:
    stems = question_stems(question_text)
    if not stems:
        return 1.0
    return min(1.0, len(term_index(tuple(stems)).found(text)) / max(2, 0.5 * len(stems)))


# --- features and the fitted model --------------------------------------------------------

FEATURES = ("coverage", "explained", "criteria", "substance", "explaining", "specific", "story", "trade_offs",
            "code", "overclaim", "vague", "hypothetical", "relevance")


def answer_features(item: GradingItem, reading: Reading | None = None) -> dict[str, float]:
    """The figures the model turns into a quality estimate, each between 0 and 1."""
    reading = reading or read_answer(item)
    credited = reading.credited
    topic = reading.topic
    stories_count = item.stage in STORY_STAGES
    substantive = [u for u in credited if u.is_code or _relevant(u, topic)
                   or (stories_count and _PAST_ACTION.search(u.lowered))]
    content_words = sum(sum(t not in STOPWORDS for t in u.tokens) for u in substantive)
    explaining = [u for u in substantive if _explains(u)]
    covered, explained = _point_coverage(item.rubric.key_points, credited)
    points = len(item.rubric.key_points)
    if points:
        coverage, explained_share = len(covered) / points, len(explained) / points
    else:
        coverage = _stem_fit(item.question_text, as_unit(" ".join(u.lowered for u in credited)))
        explained_share = coverage * min(1.0, len(explaining) / 3)
    code_lines = sum(u.text.count("\n") + 1 for u in credited if u.is_code)
    prose = [u for u in substantive if not u.is_code]
    return {
        "coverage": coverage,
        "explained": explained_share,
        "criteria": _mean([_strength(_evidence(c, credited, covered, topic)) for c in item.rubric.criteria]),
        "substance": min(1.0, _log_ratio(content_words, 120)),
        "explaining": min(1.0, len(explaining) / 4),
        "specific": min(1.0, sum(_specifics(u) for u in prose) / 6),
        "story": min(1.0, sum(bool(_PAST_ACTION.search(u.lowered)) for u in prose) / 3),
        "trade_offs": min(1.0, sum(bool(_CONTRAST.search(u.lowered)) for u in prose) / 2),
        "code": min(1.0, code_lines / 12),
        "overclaim": min(1.0, sum(len(_OVERCLAIM.findall(u.lowered)) for u in prose) / 2),
        "vague": min(1.0, sum(len(_VAGUE.findall(u.lowered)) for u in credited) / 3),
        "hypothetical": min(1.0, sum(bool(_HYPOTHETICAL.search(u.lowered)) for u in prose) / max(2, len(prose)))
        if item.stage in ("behavioral", "architecture_deep_dive") else 0.0,
        "relevance": len([u for u in credited if _relevant(u, topic)]) / len(credited) if credited else 0.0,
    }


def _log_ratio(value: int, full: int) -> float:
    import math

    return math.log1p(value) / math.log1p(full)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _explains(unit: Unit) -> bool:
    return unit.explains


def _specifics(unit: Unit) -> int:
    return len(_NUMBER.findall(unit.text)) + len(set(_NAMED.findall(unit.text)))


@cache
def _model() -> dict:
    return json.loads(MODEL_PATH.read_text(encoding="utf-8"))


def quality(features: dict[str, float]) -> float:
    """The fitted linear model: an estimate of the 1-5 label."""
    model = _model()
    value = model["intercept"] + sum(model["weights"][name] * features[name] for name in FEATURES)
    return max(1.0, min(5.0, value))


# --- criteria, mistakes, feedback ----------------------------------------------------------


def grade_answer(item: GradingItem, kb: KnowledgeBase | None = None) -> Grade:
    reading = read_answer(item, kb)
    flags = answer_flags(item, reading, kb)
    if "non_english" in flags and "prompt_injection" not in flags:
        return _not_gradable(item, reading, flags)
    useless = bool({"empty", "off_topic"} & set(flags))
    credited = [] if useless else reading.credited
    covered, _ = _point_coverage(item.rubric.key_points, credited)
    missed = [p for p in item.rubric.key_points if p not in covered]
    known = item.question is not None
    mistakes = [] if "empty" in flags else _mistakes(item.rubric.mistakes, credited, known)
    estimate = quality(answer_features(item, reading)) if credited else 1.0
    estimate += min(1.0, 0.25 * len(mistakes))  # the shared overall rule takes this off again per mistake
    criteria = capped(with_test_results([_score_criterion(c, credited, covered, reading.topic, estimate, known)
                                         for c in item.rubric.criteria], item.run), flags)
    return Grade(
        overall=overall_score(criteria, mistakes, flags),
        criteria=criteria,
        mistakes=mistakes,
        flags=flags,
        tip=_tip(missed, criteria),
        missed_points=[p.id for p in missed],
        scorer="offline",
        model=None,
        rubric_version=item.rubric.version,
    )


def _not_gradable(item: GradingItem, reading: Reading, flags: list[str]) -> Grade:
    language = LANGUAGE_NAMES.get(reading.language, reading.language)
    why = f"The answer looks like {language}; the offline scorer grades English only, so it was not graded."
    criteria = [CriterionScore(id=c.id, name=c.name, score=None, evidence=[], feedback=why)
                for c in item.rubric.criteria]
    return Grade(
        overall=1.0, criteria=criteria, mistakes=[], flags=flags,
        tip=f"{why} Answer in English, or ask for grading by the LLM judge.",
        missed_points=[], scorer="offline", model=None, rubric_version=item.rubric.version,
    )


def key_point_coverage(points: list[KeyPoint], answer_sentences: list[str]) -> tuple[list[KeyPoint], list[KeyPoint]]:
    """Key points the answer covers (a unit names one of its terms) and those it misses."""
    reading = [u for s in answer_sentences for u in units(s)]
    covered, _ = _point_coverage(points, reading)
    return covered, [p for p in points if p not in covered]


def _point_coverage(points: list[KeyPoint], credited: list[Unit]) -> tuple[list[KeyPoint], list[KeyPoint]]:
    """Key points some unit names, and those of them some explaining unit (or code) names."""
    covered, explained = [], []
    for point in points:
        index = term_index(tuple(point.terms))
        showing = [u for u in credited if index.any_in(u)]
        if showing:
            covered.append(point)
            if any(_explains(u) for u in showing):
                explained.append(point)
    return covered, explained


def _evidence(criterion: Criterion, credited: list[Unit], covered: list[KeyPoint], topic: tuple[str, ...]) -> list[Unit]:
    """The units that show this criterion: its own signals or detector; for a criterion about the
    quality of reasoning, units that explain the topic; for one about a subject, units that explain
    the key points it covers."""
    signals = tuple(s for s in criterion.signals if s not in GENERIC_SIGNALS)
    own = term_index(signals) if signals else None
    detector = DETECTORS.get(criterion.id)
    shown = [u for u in credited
             if (own is not None and own.any_in(u)) or (detector is not None and detector.search(u.lowered))]
    if criterion.id in STAR_CRITERIA or criterion.id in DETECTORS:
        return [u for u in shown if not _HYPOTHETICAL.search(u.lowered) or criterion.id == "trade-offs"]
    if criterion.id in REASONING_CRITERIA:
        return [u for u in credited if u in shown or (_explains(u) and (u.is_code or _relevant(u, topic)))]
    points = term_index(tuple(t for p in covered for t in p.terms))
    by_points = [u for u in credited if _explains(u) and points.any_in(u) and (own is None or own.any_in(u))]
    return [u for u in credited if u in shown or u in by_points]


def _strength(evidence: list[Unit]) -> float:
    return min(1.0, sum(1.0 if _explains(u) else 0.5 for u in evidence) / 2)


def _score_criterion(criterion: Criterion, credited: list[Unit], covered: list[KeyPoint], topic: tuple[str, ...],
                     estimate: float, known: bool) -> CriterionScore:
    """The answer's quality, moved by this criterion's own evidence; without evidence at most 2 (or 3
    on a stage's generic rubric, whose criteria a particular question may not call for)."""
    evidence = _evidence(criterion, credited, covered, topic)
    strength = _strength(evidence)
    if not evidence:
        ceiling = 2 if known else 3
    elif strength < 0.5:
        ceiling = 3
    else:
        ceiling = 5
    score = max(1, min(ceiling, round(estimate + SPREAD * (strength - 0.6))))
    return CriterionScore(
        id=criterion.id, name=criterion.name, score=score,
        evidence=[u.text for u in evidence[:3]], feedback=_feedback(criterion, score, evidence, known),
    )


def _feedback(criterion: Criterion, score: int, evidence: list[Unit], known: bool = True) -> str:
    """Words that agree with the quotes: the level text only where it praises what is quoted."""
    if not evidence:
        maybe = "" if known else " (this question may not call for it)"
        return f"No sentence of the answer shows this{maybe}. To reach 4: {criterion.levels[4]}"
    if score >= 4:
        return criterion.levels[score]
    shown = "one sentence" if len(evidence) == 1 else f"{len(evidence)} sentences"
    if score == 3:
        return f"Shown in {shown}, without the depth of a 4. To reach 4: {criterion.levels[4]}"
    return f"Only touched on in {shown}. To reach 4: {criterion.levels[4]}"


def _mistakes(rubric_mistakes: list[Mistake], credited: list[Unit], known: bool) -> list[MistakeFound]:
    """A mistake needs a unit that shows it, or an omission that is real: an omission counts only
    against the question's own rubric, never a stage's generic one (that question may not need it)."""
    found = []
    text = " ".join(u.lowered for u in credited)
    for mistake in rubric_mistakes:
        signs = any_term_pattern(tuple(mistake.signs))
        evidence = [u.text for u in credited if signs is not None and signs.search(u.lowered)
                    and not _NEGATOR.search(u.lowered[:max(0, signs.search(u.lowered).start())][-40:])]
        if evidence or (known and _omitted(mistake, text, credited)):
            found.append(MistakeFound(id=mistake.id, name=mistake.name, evidence=evidence[:3]))
    return found


def _omitted(mistake: Mistake, text: str, credited: list[Unit]) -> bool:
    if not mistake.missing_all or not credited:
        return False
    if mistake.id == "listing-tools-without-explaining":
        return not any(_explains(u) for u in credited)
    shown_otherwise = OMISSION_DETECTORS.get(mistake.id)
    if shown_otherwise is not None and shown_otherwise.search(text):
        return False
    pattern = any_term_pattern(tuple(mistake.missing_all))
    return pattern.search(text) is None


def _tip(missed: list[KeyPoint], criteria: list[CriterionScore]) -> str:
    if missed:
        return f"Cover this next time: {missed[0].text}"
    weakest = min(criteria, key=lambda c: c.score or 0, default=None)
    if weakest and (weakest.score or 0) < 4:
        return f"Strengthen '{weakest.name}': {weakest.feedback}"
    return "Keep this structure: state the idea, explain why, then give a concrete example."
