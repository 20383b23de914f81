"""The end-of-session report and the one scoring rule: pure functions of the plan, the grades
(with any reviewer's overrides applied) and the knowledge base.

The rule, used by every place that shows a session's score (the candidate's report, the reviewer
list and transcript, the exports, the API):
- a question's score is its latest answer's grade (a follow-up's grade covers the whole exchange);
  a reviewer's override stands in for the machine's score;
- a skipped question is *unanswered*: shown as such, never scored (it is not a 1);
- a stage's score is the mean over its answered questions; a stage with no answer has no score
  (*unanswered*, or *not reached* when the interview never got there);
- the overall is the mean of the stage scores, and says what it covers. An interview that ended
  early or left stages unreached is *incomplete* and gives no hiring signal.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import mean
from types import SimpleNamespace
from typing import Any, Literal

from pydantic import BaseModel, Field

from coach.knowledge import KnowledgeBase, Stage, Tip
from coach.scoring import overall_score as answer_overall
from coach.scoring.text import words

SIGNALS = ((4.0, "strong_yes"), (3.0, "yes"), (2.0, "no"), (0.0, "strong_no"))
SCORED_KINDS = ("answer", "skip")  # other candidate turns (questions to the interviewer) are not graded as answers
STRENGTH_FLOOR = 3.5  # a criterion this good (mean) is a strength ...
STRONG_QUOTE = 4  # ... quoted only from an answer where it scored at least this
TARGET_FLOOR = 3  # levels 1-2 describe what falls short: advice never aims below level 3


class QuestionResult(BaseModel):
    stage: str
    question_id: str | None
    status: Literal["answered", "unanswered", "pending"]
    score: float | None  # the score that counts: a reviewer's override, else the machine's
    machine_score: float | None
    reviewed: bool = False  # a reviewer changed this answer's grade


class StageResult(BaseModel):
    stage: str
    title: str
    status: Literal["scored", "pending", "unanswered", "not_reached"] = "scored"
    score: float | None
    signal: str | None
    answered: int
    skipped: int  # questions left unanswered
    not_graded: int = 0  # the candidate's own questions to the interviewer


class Coverage(BaseModel):
    """What the overall covers."""

    complete: bool
    stages_planned: int
    stages_reached: int
    answered: int
    unanswered: int
    not_reached: list[str] = Field(default_factory=list)  # stage titles
    summary: str


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
    machine_overall: float | None = None  # the overall before any reviewer's override
    reviewed: bool = False  # a reviewer changed at least one score
    incomplete: bool = False
    coverage: Coverage | None = None
    stages: list[StageResult]
    questions: list[QuestionResult] = Field(default_factory=list)
    criteria: list[CriterionResult]
    strengths: list[Strength]
    improvements: list[Improvement]
    pending: int = 0
    scorers: list[str] = Field(default_factory=list)


def signal_for(score: float) -> str:
    return next(name for floor, name in SIGNALS if score >= floor)


# --- the scoring rule -----------------------------------------------------------------------


def effective_scores(grade, overrides) -> dict[str | None, float | None]:
    """criterion id (None for overall) -> the score that counts, for a stored grade and its overrides.

    The latest override of a criterion replaces the machine's score for it. The overall is the
    latest overall override; failing that, a criterion override recomputes the overall by the
    scorers' own rule; failing that, it is the machine's."""
    scores: dict[str | None, float | None] = {c.get("id"): c.get("score") for c in grade.criteria}
    changed = False
    overall = None
    for override in sorted(overrides, key=lambda o: o.id):
        if override.criterion is None:
            overall = override.score
        else:
            scores[override.criterion], changed = override.score, True
    if overall is None:
        overall = _recomputed(grade, scores) if changed else grade.overall
    return {None: overall, **scores}


def _recomputed(grade, scores: dict) -> float:
    criteria: list[Any] = [SimpleNamespace(score=s) for s in scores.values()]  # only .score is read
    return answer_overall(criteria, grade.mistakes or [], grade.flags or [])


def question_results(answers: list[dict]) -> list[QuestionResult]:
    """One result per question asked, in order: answered (graded or pending) or unanswered."""
    return [_question_result(a) for a in _latest_per_question(answers)]


def session_overall(answers: list[dict], *, machine: bool = False) -> float | None:
    """THE overall of a session: the mean of its stage scores (`machine`: ignoring overrides)."""
    stage_scores = [s for s in _stage_scores(question_results(answers), machine).values() if s is not None]
    return round(mean(stage_scores), 1) if stage_scores else None


def _stage_scores(questions: list[QuestionResult], machine: bool = False) -> dict[str, float | None]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for q in questions:
        grouped.setdefault(q.stage, [])
        score = q.machine_score if machine else q.score
        if q.status == "answered" and score is not None:
            grouped[q.stage].append(score)
    return {stage: round(mean(values), 1) if values else None for stage, values in grouped.items()}


def _latest_per_question(answers: list[dict]) -> list[dict]:
    """A follow-up's grade covers the whole exchange on that question, so the last answer stands;
    a skipped follow-up leaves the answer before it standing (only an unanswered question is skipped)."""
    latest: dict[tuple, dict] = {}
    for answer in answers:
        if _kind(answer) not in SCORED_KINDS:
            continue
        key = (answer["stage"], answer["question_id"])
        if not answer["skipped"] or key not in latest:
            latest[key] = answer
    return list(latest.values())


def _kind(answer: dict) -> str:
    return answer.get("kind") or ("skip" if answer["skipped"] else "answer")


def _question_result(answer: dict) -> QuestionResult:
    grade = answer["grade"] or {}
    base = {"stage": answer["stage"], "question_id": answer["question_id"]}
    if answer["skipped"]:
        return QuestionResult(**base, status="unanswered", score=None, machine_score=None)
    if grade.get("status") != "done" or grade.get("overall") is None:
        return QuestionResult(**base, status="pending", score=None, machine_score=None)
    machine = grade.get("machine_overall", grade["overall"])
    return QuestionResult(**base, status="answered", score=grade["overall"], machine_score=machine,
                          reviewed=bool(grade.get("reviewed")))


# --- the report -----------------------------------------------------------------------------


def build_report(
    kb: KnowledgeBase, *, track: str, answers: list[dict], planned: list[str] | None = None,
    ended_early: bool = False,
) -> Report:
    """`answers`: one dict per candidate turn in order: stage, question_id, skipped, kind (optional),
    grade (dict or None; `overall` and criterion scores as they count, `machine_overall` and
    `reviewed` when a reviewer changed them). `planned`: the plan's stage ids, in order."""
    latest = _latest_per_question(answers)
    questions = [_question_result(a) for a in latest]
    planned = planned or _stages_in_order(kb, track, answers)
    stages = _stage_results(kb, track, planned, questions, answers)
    criteria, by_stage = _criteria_results(latest)
    overall = session_overall(answers)
    coverage = _coverage(stages, ended_early)
    return Report(
        overall=overall,
        signal=signal_for(overall) if overall is not None and coverage.complete else None,
        machine_overall=session_overall(answers, machine=True),
        reviewed=any(q.reviewed for q in questions),
        incomplete=not coverage.complete,
        coverage=coverage,
        stages=stages,
        questions=questions,
        criteria=criteria,
        strengths=_strengths(criteria, latest),
        improvements=_improvements(kb, track, criteria, by_stage),
        pending=sum(1 for a in answers if a["grade"] and a["grade"]["status"] != "done"),
        scorers=sorted({a["grade"]["scorer"] for a in answers if a["grade"] and a["grade"].get("scorer")}),
    )


def _stages_in_order(kb: KnowledgeBase, track: str, answers: list[dict]) -> list[str]:
    order = [s.id for s in kb.track(track).stages]
    seen = {a["stage"] for a in answers if a["stage"]}
    return sorted(seen, key=lambda s: order.index(s) if s in order else len(order))


def _stage_results(kb, track, planned: list[str], questions: list[QuestionResult], answers) -> list[StageResult]:
    scores = _stage_scores(questions)
    results = []
    for stage_id in planned:
        items = [q for q in questions if q.stage == stage_id]
        asked = [a for a in answers if a["stage"] == stage_id]
        score = scores.get(stage_id)
        results.append(StageResult(
            stage=stage_id, title=_stage_title(kb, track, stage_id), status=_stage_status(items, asked, score),
            score=score, signal=signal_for(score) if score is not None else None,
            answered=sum(q.status != "unanswered" for q in items), skipped=sum(q.status == "unanswered" for q in items),
            not_graded=sum(_kind(a) not in SCORED_KINDS for a in asked),
        ))
    return results


def _stage_status(items: list[QuestionResult], asked: list[dict], score: float | None) -> str:
    if not asked:
        return "not_reached"
    if score is not None:
        return "scored"
    return "pending" if any(q.status == "pending" for q in items) else "unanswered"


def _stage_title(kb: KnowledgeBase, track: str, stage_id: str) -> str:
    try:
        return kb.track(track).stage(stage_id).title
    except KeyError:
        return stage_id


def _coverage(stages: list[StageResult], ended_early: bool) -> Coverage:
    reached = [s for s in stages if s.status != "not_reached"]
    missing = [s.title for s in stages if s.status == "not_reached"]
    answered, unanswered = sum(s.answered for s in stages), sum(s.skipped for s in stages)
    complete = not ended_early and not missing
    summary = (f"Covers {len(reached)} of {len(stages)} stage{'s' if len(stages) != 1 else ''}"
               f" ({answered} answered, {unanswered} unanswered).")
    if missing:
        summary += " Not reached: " + ", ".join(missing) + "."
    if not complete:
        summary = "Incomplete interview. " + summary
    return Coverage(complete=complete, stages_planned=len(stages), stages_reached=len(reached), answered=answered,
                    unanswered=unanswered, not_reached=missing, summary=summary)


def _criteria_results(latest: list[dict]) -> tuple[list[CriterionResult], dict]:
    scores: dict[str, list[int]] = defaultdict(list)
    names: dict[str, str] = {}
    by_stage: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for answer in latest:
        grade = answer["grade"]
        if answer["skipped"] or not grade or grade.get("status") != "done":
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


# --- advice ---------------------------------------------------------------------------------


def _strengths(criteria: list[CriterionResult], latest: list[dict]) -> list[Strength]:
    strengths: list[Strength] = []
    quoted: set[str] = set()
    weak = _weak_sentences(latest)
    for criterion in [c for c in criteria if c.score >= STRENGTH_FLOOR][:3]:
        evidence = _best_evidence(criterion.id, latest, quoted, weak)
        quoted.add(evidence)
        strengths.append(Strength(criterion=criterion.id, name=criterion.name, score=criterion.score, evidence=evidence))
    return strengths


def _weak_sentences(latest: list[dict]) -> set[str]:
    """Sentences quoted as a mistake, or as evidence where a criterion scored low: never a strength's quote."""
    weak = set()
    for answer in latest:
        grade = answer["grade"] or {}
        weak |= {q for m in grade.get("mistakes") or [] for q in m.get("evidence") or []}
        weak |= {q for c in grade.get("criteria", []) if (c["score"] or 0) < STRONG_QUOTE for q in c["evidence"]}
    return weak


def _best_evidence(criterion_id: str, latest: list[dict], quoted: set, weak: set) -> str | None:
    """The best-scored quote for the criterion from an answer where it scored well, preferring one
    no other strength quotes; None when no such quote exists."""
    candidates = []
    for answer in latest:
        for criterion in (answer["grade"] or {}).get("criteria", []):
            if criterion["id"] == criterion_id and (criterion["score"] or 0) >= STRONG_QUOTE:
                candidates += [(q in quoted, -criterion["score"], q) for q in criterion["evidence"] if q not in weak]
    return min(candidates)[2] if candidates else None


def _improvements(kb: KnowledgeBase, track: str, criteria: list[CriterionResult], by_stage: dict) -> list[Improvement]:
    improvements: list[Improvement] = []
    used_tips: set[str] = set()
    for criterion in sorted(criteria, key=lambda c: (c.score, c.name))[:3]:
        if criterion.score >= 4.5:
            break
        stage_id = min(by_stage[criterion.id], key=lambda s: mean(by_stage[criterion.id][s]))
        stage = kb.track(track).stage(stage_id)
        tip = _closest_tip(stage, kb.criteria.get(criterion.id), used_tips)
        used_tips.add(tip.id)
        improvements.append(
            Improvement(stage=stage.id, criterion=criterion.id, name=criterion.name, score=criterion.score,
                        advice=aim_for(kb, criterion.id, criterion.score), tip=tip)
        )
    return improvements


def aim_for(kb: KnowledgeBase, criterion_id: str, score: float) -> str:
    """What to aim for: the level above where the candidate stands, but never a level that
    describes falling short (levels 1 and 2 read like mistakes: "Aim for: blames others")."""
    criterion = kb.criteria.get(criterion_id)
    if criterion is None:
        return "Aim for: a fuller answer on this criterion."
    target = min(5, max(TARGET_FLOOR, int(score) + 1))
    return f"Aim for: {criterion.levels[target]}".strip()


def _closest_tip(stage: Stage, criterion, used: set[str]) -> Tip:
    """The stage's preparation tip sharing the most words with the criterion."""
    wanted = set(words(f"{criterion.name} {criterion.description}")) if criterion else set()
    candidates = [t for t in stage.preparation_tips if t.id not in used] or stage.preparation_tips
    return max(candidates, key=lambda t: len(wanted & set(words(t.text))))
