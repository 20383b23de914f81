"""The offline scorer: a deterministic rubric grader that needs no model.

It looks for the rubric's signals and the question's key points in the answer, counts only
sentences that explain (not bare lists of terms) as strong support, and quotes the sentences it
relied on verbatim. Easy tricks are caught first: empty, off-topic, buzzword-only and
grader-instructing answers are capped low whatever they mention.
"""

from __future__ import annotations

import time

from coach.knowledge import Criterion, KeyPoint, Mistake
from coach.scoring import CriterionScore, Grade, GradingItem, MistakeFound, capped, overall_score
from coach.scoring.injection import injection_evidence
from coach.scoring.text import hits, is_explanatory, mentions_any, sentences, words

MIN_WORDS = 8
NON_ANSWERS = {"i don't know", "i dont know", "pass", "skip", "no idea", "n/a", "idk", "not sure"}
STAR_CRITERIA = {"star-situation", "star-task", "star-action", "star-result"}


class OfflineScorer:
    name = "offline"

    def grade(self, item: GradingItem) -> Grade:
        started = time.perf_counter()
        grade = grade_answer(item)
        grade.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return grade


def grade_answer(item: GradingItem) -> Grade:
    answer_sentences = sentences(item.answer)
    lowered = [s.lower() for s in answer_sentences]  # each sentence lower-cased once, scanned once per term list
    flags = _flags(item, answer_sentences, lowered)
    covered, missed = _coverage(item.rubric.key_points, lowered)
    coverage = len(covered) / len(item.rubric.key_points) if item.rubric.key_points else None
    useless = "empty" in flags or "off_topic" in flags
    criteria = capped([
        _score_criterion(c, answer_sentences, lowered, covered, coverage, useless) for c in item.rubric.criteria
    ], flags)
    mistakes = [] if "empty" in flags else _mistakes(item.rubric.mistakes, item.answer, answer_sentences, lowered)
    return Grade(
        overall=overall_score(criteria, mistakes, flags),
        criteria=criteria,
        mistakes=mistakes,
        flags=flags,
        tip=_tip(item, missed, criteria),
        missed_points=[p.id for p in missed],
        scorer="offline",
        model=None,
        rubric_version=item.rubric.version,
    )


def key_point_coverage(points: list[KeyPoint], answer_sentences: list[str]) -> tuple[list[KeyPoint], list[KeyPoint]]:
    """Key points the answer covers (a sentence names one of its terms) and those it misses."""
    return _coverage(points, [s.lower() for s in answer_sentences])


def _coverage(points: list[KeyPoint], lowered: list[str]) -> tuple[list[KeyPoint], list[KeyPoint]]:
    covered, missed = [], []
    for point in points:
        terms = tuple(point.terms)
        (covered if any(mentions_any(s, terms) for s in lowered) else missed).append(point)
    return covered, missed


def _matching(answer_sentences: list[str], lowered: list[str], terms: tuple[str, ...]) -> list[str]:
    """The sentences that name any of the terms, verbatim."""
    return [s for s, low in zip(answer_sentences, lowered) if mentions_any(low, terms)]


def _flags(item: GradingItem, answer_sentences: list[str], lowered: list[str]) -> list[str]:
    flags = []
    if injection_evidence(item.answer):
        flags.append("prompt_injection")
    text = item.answer.strip().lower().rstrip(".!")
    if len(words(item.answer)) < MIN_WORDS or text in NON_ANSWERS:
        flags.append("empty")
        return flags
    if not _on_topic(item, answer_sentences, lowered):
        flags.append("off_topic")
    elif _buzzword_list(answer_sentences, item):
        flags.append("buzzwords")
    return flags


def _topic_terms(item: GradingItem) -> list[str]:
    terms = [t for p in item.rubric.key_points for t in p.terms]
    terms += [s for c in item.rubric.criteria if c.id not in STAR_CRITERIA for s in c.signals]
    terms += [w for w in words(item.question_text) if len(w) > 5]
    return sorted(set(terms))


def _on_topic(item: GradingItem, answer_sentences: list[str], lowered: list[str]) -> bool:
    relevant = _matching(answer_sentences, lowered, tuple(_topic_terms(item)))
    if item.stage == "behavioral":
        return bool(relevant) or len(answer_sentences) >= 3
    return len(relevant) >= max(1, round(0.25 * len(answer_sentences)))


def _buzzword_list(answer_sentences: list[str], item: GradingItem) -> bool:
    """Many named terms, little reasoning: a list of fashionable words is not an answer."""
    explained = [s for s in answer_sentences if is_explanatory(s)]
    text = " ".join(answer_sentences)
    items = [part for part in text.replace(";", ",").replace("\n", ",").split(",") if part.strip()]
    short_items = [part for part in items if len(words(part)) <= 3]
    listy = len(items) >= 4 and len(short_items) >= 0.6 * len(items)
    # A list with at most one reason in it, or a short run of terms with no reason at all. One short
    # sentence that explains (a connective, not commas between names) is a brief answer, not buzzwords.
    terse_terms = not explained and len(words(text)) < 25 and len(hits(text, _topic_terms(item))) >= 4
    return (len(explained) <= 1 and listy) or terse_terms


def _score_criterion(
    criterion: Criterion,
    answer_sentences: list[str],
    lowered: list[str],
    covered: list[KeyPoint],
    coverage: float | None,
    useless: bool,
) -> CriterionScore:
    evidence = [] if useless else _evidence_for(criterion, answer_sentences, lowered, covered)
    if not evidence:
        return CriterionScore(
            id=criterion.id,
            name=criterion.name,
            score=1,
            evidence=[],
            feedback=f"No sentence of the answer shows this. {_aim(criterion)}",
        )
    support = min(1.0, sum(1.0 if is_explanatory(s) else 0.4 for s in evidence) / 2)
    breadth = coverage if coverage is not None and criterion.id not in STAR_CRITERIA else support
    score = max(1, min(5, round(1 + 2.4 * support + 1.6 * breadth)))
    return CriterionScore(
        id=criterion.id,
        name=criterion.name,
        score=score,
        evidence=evidence[:3],
        feedback=f"{criterion.levels[score]}" + ("" if score >= 4 else f" {_aim(criterion)}"),
    )


def _evidence_for(
    criterion: Criterion, answer_sentences: list[str], lowered: list[str], covered: list[KeyPoint]
) -> list[str]:
    direct = _matching(answer_sentences, lowered, tuple(criterion.signals))
    if direct or criterion.id in STAR_CRITERIA:
        return direct
    # Content criteria are shown by the key points the answer explains.
    return _matching(answer_sentences, lowered, tuple(t for p in covered for t in p.terms))


def _aim(criterion: Criterion) -> str:
    return f"To reach 4: {criterion.levels[4]}"


def _mistakes(
    rubric_mistakes: list[Mistake], answer: str, answer_sentences: list[str], lowered: list[str]
) -> list[MistakeFound]:
    found = []
    for mistake in rubric_mistakes:
        evidence = _matching(answer_sentences, lowered, tuple(mistake.signs))
        omitted = bool(mistake.missing_all) and not mentions_any(answer.lower(), tuple(mistake.missing_all))
        if evidence or omitted:
            found.append(MistakeFound(id=mistake.id, name=mistake.name, evidence=evidence[:3]))
    return found


def _tip(item: GradingItem, missed: list[KeyPoint], criteria: list[CriterionScore]) -> str:
    if missed:
        return f"Cover this next time: {missed[0].text}"
    weakest = min(criteria, key=lambda c: c.score or 0, default=None)
    if weakest and (weakest.score or 0) < 4:
        return f"Strengthen '{weakest.name}': {weakest.feedback}"
    return "Keep this structure: state the idea, explain why, then give a concrete example."
