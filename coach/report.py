"""The end-of-session report: a pure function of the plan, the grades and the knowledge base."""

from __future__ import annotations

from collections import defaultdict
from statistics import mean

from pydantic import BaseModel, Field

from coach.knowledge import KnowledgeBase, Stage, Tip
from coach.scoring.text import words

SIGNALS = ((4.0, "strong_yes"), (3.0, "yes"), (2.0, "no"), (0.0, "strong_no"))


class StageResult(BaseModel):
    stage: str
    title: str
    score: float
    signal: str
    answered: int
    skipped: int


class CriterionResult(BaseModel):
    id: str
    name: str
    score: float
    answers: int


class Strength(BaseModel):
    criterion: str
    name: str
    score: float
    evidence: str | None = None


class Improvement(BaseModel):
    stage: str
    criterion: str
    name: str
    score: float
    advice: str
    tip: Tip


class Report(BaseModel):
    overall: float | None
    signal: str | None
    stages: list[StageResult]
    criteria: list[CriterionResult]
    strengths: list[Strength]
    improvements: list[Improvement]
    pending: int = 0
    scorers: list[str] = Field(default_factory=list)


def signal_for(score: float) -> str:
    return next(name for floor, name in SIGNALS if score >= floor)


def build_report(kb: KnowledgeBase, *, track: str, answers: list[dict]) -> Report:
    """`answers`: one dict per candidate turn in order: stage, question_id, skipped, grade (dict or None)."""
    latest = _latest_per_question(answers)
    stages = _stage_results(kb, track, latest)
    criteria, by_stage = _criteria_results(latest)
    overall = round(mean(s.score for s in stages), 1) if stages else None
    return Report(
        overall=overall,
        signal=signal_for(overall) if overall is not None else None,
        stages=stages,
        criteria=criteria,
        strengths=_strengths(criteria, latest),
        improvements=_improvements(kb, track, criteria, by_stage),
        pending=sum(1 for a in answers if a["grade"] and a["grade"]["status"] != "done"),
        scorers=sorted({a["grade"]["scorer"] for a in answers if a["grade"] and a["grade"].get("scorer")}),
    )


def _latest_per_question(answers: list[dict]) -> list[dict]:
    """A follow-up's grade covers the whole exchange on that question, so the last answer stands;
    a skipped follow-up leaves the answer before it standing (only an unanswered question is skipped)."""
    latest: dict[tuple, dict] = {}
    for answer in answers:
        key = (answer["stage"], answer["question_id"])
        if not answer["skipped"] or key not in latest:
            latest[key] = answer
    return list(latest.values())


def _answer_score(answer: dict) -> float:
    grade = answer["grade"]
    if answer["skipped"] or not grade or grade.get("overall") is None:
        return 1.0
    return grade["overall"]


def _stage_results(kb: KnowledgeBase, track: str, latest: list[dict]) -> list[StageResult]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for answer in latest:
        grouped[answer["stage"]].append(answer)
    order = [s.id for s in kb.track(track).stages]
    results = []
    for stage_id in sorted(grouped, key=order.index):
        items = grouped[stage_id]
        score = round(mean(_answer_score(a) for a in items), 1)
        results.append(
            StageResult(
                stage=stage_id, title=kb.track(track).stage(stage_id).title, score=score,
                signal=signal_for(score), answered=sum(not a["skipped"] for a in items),
                skipped=sum(a["skipped"] for a in items),
            )
        )
    return results


def _criteria_results(latest: list[dict]) -> tuple[list[CriterionResult], dict]:
    scores: dict[str, list[int]] = defaultdict(list)
    names: dict[str, str] = {}
    by_stage: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for answer in latest:
        grade = answer["grade"]
        if not grade or grade.get("status") != "done":
            continue
        for criterion in grade["criteria"]:
            names[criterion["id"]] = criterion["name"]
            if criterion["score"] is not None:
                scores[criterion["id"]].append(criterion["score"])
                by_stage[criterion["id"]][answer["stage"]].append(criterion["score"])
    results = [
        CriterionResult(id=cid, name=names[cid], score=round(mean(values), 1), answers=len(values))
        for cid, values in scores.items()
    ]
    return sorted(results, key=lambda c: (-c.score, c.name)), by_stage


def _strengths(criteria: list[CriterionResult], latest: list[dict]) -> list[Strength]:
    strengths, quoted = [], set()
    for criterion in [c for c in criteria if c.score >= 3.5][:3]:
        evidence = _best_evidence(criterion.id, latest, quoted)
        quoted.add(evidence)
        strengths.append(Strength(criterion=criterion.id, name=criterion.name, score=criterion.score, evidence=evidence))
    return strengths


def _best_evidence(criterion_id: str, latest: list[dict], quoted: set) -> str | None:
    """The best-scored quote for the criterion, preferring one no other strength quotes."""
    candidates = []
    for answer in latest:
        for criterion in (answer["grade"] or {}).get("criteria", []):
            if criterion["id"] == criterion_id:
                candidates += [(q in quoted, -(criterion["score"] or 0), q) for q in criterion["evidence"]]
    return min(candidates)[2] if candidates else None


def _improvements(kb: KnowledgeBase, track: str, criteria: list[CriterionResult], by_stage: dict) -> list[Improvement]:
    improvements, used_tips = [], set()
    for criterion in sorted(criteria, key=lambda c: (c.score, c.name))[:3]:
        if criterion.score >= 4.5:
            break
        stage_id = min(by_stage[criterion.id], key=lambda s: mean(by_stage[criterion.id][s]))
        stage = kb.track(track).stage(stage_id)
        tip = _closest_tip(stage, kb.criteria.get(criterion.id), used_tips)
        used_tips.add(tip.id)
        # Aim one level above where the candidate stands.
        target = min(5, int(criterion.score) + 1)
        level = kb.criteria[criterion.id].levels[target] if criterion.id in kb.criteria else ""
        improvements.append(
            Improvement(stage=stage.id, criterion=criterion.id, name=criterion.name, score=criterion.score,
                        advice=f"Aim for: {level}".strip(), tip=tip)
        )
    return improvements


def _closest_tip(stage: Stage, criterion, used: set[str]) -> Tip:
    """The stage's preparation tip sharing the most words with the criterion."""
    wanted = set(words(f"{criterion.name} {criterion.description}")) if criterion else set()
    candidates = [t for t in stage.preparation_tips if t.id not in used] or stage.preparation_tips
    return max(candidates, key=lambda t: len(wanted & set(words(t.text))))
