"""Insights for reviewers: score histograms per stage and criterion, the common mistakes, what
reviewers changed, and how the machine agrees with them. Pure functions over stored grades."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlmodel import Session

from coach import review_store
from coach.evaluation import Agreement, agreement
from coach.report import effective_scores
from coach.review_store import Override, overrides_by_grade
from coach.store import GradeRecord


def read_insights(*, db: Session) -> dict:
    """The aggregates the Insights page charts, with the machine-reviewer agreement."""
    figures = insights(review_store.all_done_grades(db=db), review_store.list_overrides(db=db))
    return {**figures, "agreement": calibration(db=db)}


def calibration(*, db: Session) -> Agreement:
    return agreement(review_store.review_labels(db=db))


def insights(grades: list[GradeRecord], overrides: list[Override]) -> dict:
    """Histograms of effective scores, top mistakes and the override summary, in one pass over `grades`."""
    grouped = overrides_by_grade(overrides)
    by_stage: dict[str, Counter] = defaultdict(Counter)
    by_criterion: dict[str, Counter] = defaultdict(Counter)
    criterion_names: dict[str, str] = {}
    mistakes: Counter = Counter()
    mistake_names: dict[str, str] = {}
    for grade in grades:
        scores = effective_scores(grade, grouped.get(grade.id, []))
        if scores[None] is not None:
            by_stage[grade.stage][_bucket(scores[None])] += 1
        for criterion in grade.criteria:
            criterion_names[criterion["id"]] = criterion.get("name") or criterion["id"]
            if scores.get(criterion["id"]) is not None:
                by_criterion[criterion["id"]][_bucket(scores[criterion["id"]])] += 1
        for mistake in grade.mistakes or []:
            mistakes[mistake["id"]] += 1
            mistake_names[mistake["id"]] = mistake.get("name") or mistake["id"]
    return {
        "graded": len(grades),
        "by_stage": {stage: _histogram(counts) for stage, counts in sorted(by_stage.items())},
        "by_criterion": {criterion_names[c]: _histogram(counts) for c, counts in sorted(by_criterion.items())},
        "mistakes": [{"id": m, "name": mistake_names[m], "count": n} for m, n in mistakes.most_common(10)],
        "overrides": _override_summary(overrides, len(grades)),
    }


def _bucket(score: float) -> int:
    return min(5, max(1, int(score + 0.5)))


def _histogram(counts: Counter) -> dict[int, int]:
    return {score: counts.get(score, 0) for score in range(1, 6)}


def _override_summary(overrides: list[Override], graded: int) -> dict:
    deltas = [o.score - o.machine_score for o in overrides if o.machine_score is not None]
    delta_counts = Counter(int(round(d)) for d in deltas)
    overridden = {o.grade_id for o in overrides}
    return {
        "count": len(overrides),
        "answers_overridden": len(overridden),
        "share_of_answers": round(len(overridden) / graded, 3) if graded else None,
        "mean_change": round(sum(deltas) / len(deltas), 2) if deltas else None,
        "mean_absolute_change": round(sum(abs(d) for d in deltas) / len(deltas), 2) if deltas else None,
        "by_change": {d: delta_counts.get(d, 0) for d in range(-4, 5)},
        "by_target": dict(Counter(o.criterion or "overall" for o in overrides).most_common()),
    }
