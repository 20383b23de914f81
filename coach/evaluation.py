"""How well a grader agrees with human labels: the figures `coach eval` prints, and the Targets.

A labeled row is {stage, question, answer, label, kind?, follow_ups?}. Follow-up exchanges
(`follow_ups: [{question, answer}]`) are graded the way a session grades them: the main answer
and every follow-up answer together, as one answer to the question.
"""

from __future__ import annotations

import json
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from statistics import mean

from pydantic import BaseModel

# Answers that must never score above 2, whatever they mention.
EMPTY_KINDS = ("empty", "off_topic", "injection")
GAMING_KINDS = ("buzzword", "stuffing", "repetition", "copied", "padding", "negated", "different_question")
LOW_QUALITY_KINDS = EMPTY_KINDS + GAMING_KINDS
# Flags with which a grader says it could not grade the answer (not that the answer is poor).
ABSTAIN_FLAGS = ("non_english",)


class Target(BaseModel):
    name: str
    value: float | None
    goal: str
    met: bool


class Agreement(BaseModel):
    n: int
    spearman: float | None
    pairwise_accuracy: float | None
    pairs: int
    mean_absolute_error: float | None
    low_quality_total: int
    low_quality_above_2: int
    low_quality_above_2_by_kind: dict[str, int]
    mean_score_by_label: dict[int, float] = {}
    mean_score_by_kind: dict[str, float] = {}
    not_gradable: int = 0
    injection_total: int = 0
    injection_flagged: int = 0
    targets: list[Target] = []


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
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return round(cov / var, 3) if var else None


def pairwise_accuracy(rows: list[dict]) -> tuple[float | None, int]:
    """Among answers to the same question with different labels, how often the grader orders them alike."""
    by_question = defaultdict(list)
    for row in rows:
        by_question[(row["stage"], row["question"])].append(row)
    agree, total = 0.0, 0
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
    """`rows`: dicts with stage, question, label (1-5), score (the grader's overall), optional kind and flags."""
    abstained = [r for r in rows if _abstained(r)]
    rows = [r for r in rows if not _abstained(r)]
    labels = [float(r["label"]) for r in rows]
    scores = [float(r["score"]) for r in rows]
    accuracy, pairs = pairwise_accuracy(rows)
    low = [r for r in rows if r.get("kind") in LOW_QUALITY_KINDS]
    above = [r for r in low if r["score"] > 2]
    injections = [r for r in rows + abstained if r.get("kind") == "injection"]
    figures = Agreement(
        n=len(rows),
        spearman=spearman(labels, scores),
        pairwise_accuracy=accuracy,
        pairs=pairs,
        mean_absolute_error=round(mean(abs(a - b) for a, b in zip(labels, scores, strict=True)), 3) if rows else None,
        low_quality_total=len(low),
        low_quality_above_2=len(above),
        low_quality_above_2_by_kind={k: n for k in LOW_QUALITY_KINDS if (n := sum(r["kind"] == k for r in above))},
        mean_score_by_label=_means(rows, lambda r: int(r["label"])),
        mean_score_by_kind=_means([r for r in rows if r.get("kind")], lambda r: r["kind"]),
        not_gradable=len(abstained),
        injection_total=len(injections),
        injection_flagged=sum("prompt_injection" in r.get("flags", ()) for r in injections),
    )
    figures.targets = targets(figures, rows)
    return figures


def _abstained(row: dict) -> bool:
    flags = row.get("flags", ())
    return any(f in flags for f in ABSTAIN_FLAGS) and "prompt_injection" not in flags


def _means(rows: list[dict], key) -> dict:
    groups = defaultdict(list)
    for row in rows:
        groups[key(row)].append(float(row["score"]))
    return {k: round(mean(v), 2) for k, v in sorted(groups.items())}


def targets(figures: Agreement, rows: list[dict]) -> list[Target]:
    """The issue's Targets for the offline scorer, each with its value and whether it is met."""
    def mean_of(selected: list[dict]) -> float | None:
        return round(mean(float(r["score"]) for r in selected), 2) if selected else None

    top = mean_of([r for r in rows if r["label"] == 5])
    low = mean_of([r for r in rows if r["label"] <= 2])
    flagged = figures.injection_flagged / figures.injection_total if figures.injection_total else None
    return [
        _target("Spearman", figures.spearman, ">= 0.75", lambda v: v >= 0.75),
        _target("pairwise ranking", figures.pairwise_accuracy, ">= 0.85", lambda v: v >= 0.85),
        _target("mean absolute error", figures.mean_absolute_error, "<= 0.9", lambda v: v <= 0.9),
        _target("label-5 mean", top, ">= 3.8", lambda v: v >= 3.8),
        _target("label 1-2 mean", low, "<= 2.2", lambda v: v <= 2.2),
        _target("empty/off-topic/injection/gaming above 2", float(figures.low_quality_above_2), "= 0",
                lambda v: v == 0),
        _target("injection answers flagged", round(flagged, 3) if flagged is not None else None, ">= 0.9",
                lambda v: v >= 0.9),
    ]


def _target(name: str, value: float | None, goal: str, test) -> Target:
    return Target(name=name, value=value, goal=goal, met=value is not None and test(value))


# --- labeled files ---------------------------------------------------------------------------


def read_labeled(path: Path, required: tuple[str, ...] = ("stage", "question", "answer", "label")) -> list[dict]:
    """The rows of a JSONL file of labeled answers; a broken line stops with its file and number."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{number}: not JSON: {exc}") from exc
        missing = [key for key in required if key not in row]
        if missing:
            raise SystemExit(f"{path}:{number}: missing {', '.join(missing)}")
        rows.append(row)
    return rows


CANDIDATE_KEYS = ("answer", "reply", "response", "candidate", "text", "content")


def full_answer(row: dict) -> str:
    """The main answer and its follow-up answers, joined as a session joins them for grading.

    Follow-ups come as `follow_ups: [{question, answer}]` (or as plain strings); `turns:
    [{role, text}]` is read too, keeping the candidate's turns."""
    replies = [_reply(f) for f in row.get("follow_ups") or []]
    replies += [_reply(t) for t in row.get("turns") or [] if _is_candidate_turn(t)]
    return "\n\n".join([row["answer"], *(r for r in replies if r)])


def _reply(entry) -> str:
    if isinstance(entry, str):
        return entry
    return next((str(entry[k]) for k in CANDIDATE_KEYS if entry.get(k)), "")


def _is_candidate_turn(turn) -> bool:
    role = str(turn.get("role") or turn.get("speaker") or "candidate").lower() if isinstance(turn, dict) else ""
    return isinstance(turn, str) or role in ("candidate", "user", "answer")


def grading_items(rows: list[dict], kb) -> list:
    """GradingItems for labeled rows, built by the same question matching a session uses."""
    from coach.grading import grading_item

    return [grading_item(kb, stage=r["stage"], question_id=None, question_text=r["question"], answer=full_answer(r))
            for r in rows]


def score_rows(rows: list[dict], grade_one) -> list[dict]:
    """Each row with the grader's overall and flags beside its label."""
    scored = []
    for row in rows:
        grade = grade_one(row["stage"], row["question"], full_answer(row))
        scored.append({**row, "score": grade.overall, "flags": grade.flags})
    return scored


def format_agreement(figures: Agreement, title: str) -> str:
    lines = [
        title,
        f"  answers: {figures.n}" + (f" (+{figures.not_gradable} not gradable by this grader)"
                                             if figures.not_gradable else ""),
        f"  Spearman correlation with labels: {figures.spearman}",
        f"  pairwise ranking accuracy (same question): {figures.pairwise_accuracy} over {figures.pairs} pairs",
        f"  mean absolute error: {figures.mean_absolute_error}",
        "  mean score per label: " + ", ".join(f"{k}: {v}" for k, v in figures.mean_score_by_label.items()),
        "  mean score per kind: " + ", ".join(f"{k}: {v}" for k, v in figures.mean_score_by_kind.items()),
        f"  empty/off-topic/injection/gaming answers above 2: {figures.low_quality_above_2} of "
        f"{figures.low_quality_total} {figures.low_quality_above_2_by_kind or ''}".rstrip(),
        f"  injection answers flagged: {figures.injection_flagged} of {figures.injection_total}",
        "  targets:",
    ]
    lines += [f"    [{'met' if t.met else 'MISSED'}] {t.name}: {t.value} (target {t.goal})" for t in figures.targets]
    return "\n".join(lines)
