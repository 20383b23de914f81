"""How well a grader agrees with human labels: the figures `coach eval` prints."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from statistics import mean

from pydantic import BaseModel

LOW_QUALITY_KINDS = ("buzzword", "off_topic", "empty", "injection")


class Agreement(BaseModel):
    n: int
    spearman: float | None
    pairwise_accuracy: float | None
    pairs: int
    mean_absolute_error: float | None
    low_quality_total: int
    low_quality_above_2: int
    low_quality_above_2_by_kind: dict[str, int]


def ranks(values: list[float]) -> list[float]:
    """Ranks from 1, ties sharing their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return result


def spearman(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = mean(rx), mean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return round(cov / var, 3) if var else None


def pairwise_accuracy(rows: list[dict]) -> tuple[float | None, int]:
    """Among answers to the same question with different labels, how often the grader orders them alike."""
    by_question = defaultdict(list)
    for row in rows:
        by_question[(row["stage"], row["question"])].append(row)
    agree = total = 0
    for group in by_question.values():
        for a, b in combinations(group, 2):
            if a["label"] == b["label"]:
                continue
            total += 1
            human = a["label"] > b["label"]
            if a["score"] != b["score"] and (a["score"] > b["score"]) == human:
                agree += 1
            elif a["score"] == b["score"]:
                agree += 0.5  # a tie is half right, as in Kendall's tau-b style counting
    return (round(agree / total, 3) if total else None), total


def agreement(rows: list[dict]) -> Agreement:
    """`rows`: dicts with stage, question, label (1-5), score (the grader's overall) and optional kind."""
    labels = [float(r["label"]) for r in rows]
    scores = [float(r["score"]) for r in rows]
    accuracy, pairs = pairwise_accuracy(rows)
    low = [r for r in rows if r.get("kind") in LOW_QUALITY_KINDS]
    above = [r for r in low if r["score"] > 2]
    by_kind = {kind: sum(1 for r in above if r["kind"] == kind) for kind in LOW_QUALITY_KINDS}
    return Agreement(
        n=len(rows),
        spearman=spearman(labels, scores),
        pairwise_accuracy=accuracy,
        pairs=pairs,
        mean_absolute_error=round(mean(abs(a - b) for a, b in zip(labels, scores)), 3) if rows else None,
        low_quality_total=len(low),
        low_quality_above_2=len(above),
        low_quality_above_2_by_kind=by_kind,
    )
