"""The reviewer's view: the session list, and a session as a scored transcript with overrides and comments."""

from __future__ import annotations

import math

from coach import review_store, store
from coach.api.schemas import (
    CommentOut,
    OverrideOut,
    ReviewCriterionOut,
    ReviewGradeOut,
    ReviewSessionOut,
    ReviewTurnOut,
    SessionFilters,
    SessionPage,
    SessionRow,
    TurnBase,
)
from coach.presenters.records import SessionRecords
from coach.review_store import Override, ReviewComment

SUMMARY_FIELDS = {"id", "track", "seniority", "mode", "status", "reviewed", "created_at", "finished_at"}
GRADE_FIELDS = {
    "id", "status", "stage", "question_id", "question_text", "flags", "missed_points", "tip", "scorer",
    "model", "rubric_version", "prompt_version", "latency_ms", "retries", "fallback_reason",
}


def grade_out(grade: store.GradeRecord, overrides: list[Override]) -> ReviewGradeOut:
    scores = review_store.effective_scores(grade, overrides)
    changed = {o.criterion for o in overrides}
    criteria = [
        ReviewCriterionOut(
            id=c["id"], name=c.get("name") or c["id"], machine_score=c.get("score"), score=scores.get(c["id"]),
            overridden=c["id"] in changed, evidence=c.get("evidence") or [], feedback=c.get("feedback") or "",
        )
        for c in grade.criteria
    ]
    return ReviewGradeOut(
        **grade.model_dump(include=GRADE_FIELDS),
        machine_overall=grade.overall, overall=scores[None], overall_overridden=None in changed, criteria=criteria,
        mistakes=grade.mistakes or [], overrides=[OverrideOut.model_validate(o.model_dump()) for o in overrides],
    )


def session_transcript(records: SessionRecords) -> ReviewSessionOut:
    """The whole conversation in order, each answer with its grade, overrides and comments."""
    grades = records.grade_by_turn()
    overrides = records.overrides_by_grade()
    comments: dict[int, list[ReviewComment]] = {}
    for comment in records.comments:
        comments.setdefault(comment.turn_id, []).append(comment)
    turns = []
    for turn in records.turns:
        grade = grades.get(turn.id)
        turns.append(ReviewTurnOut(
            **turn.model_dump(include=set(TurnBase.model_fields)),
            grade=grade_out(grade, overrides.get(grade.id, [])) if grade else None,
            comments=[CommentOut.model_validate(c.model_dump()) for c in comments.get(turn.id, [])],
        ))
    overalls = [t.grade.overall for t in turns if t.grade and t.grade.status == "done" and t.grade.overall is not None]
    return ReviewSessionOut(
        **records.session.model_dump(include=SUMMARY_FIELDS),
        score=round(sum(overalls) / len(overalls), 2) if overalls else None, turns=turns,
    )


def answer_quotes(transcript: ReviewSessionOut) -> dict[str | None, dict[str, list[str]]]:
    """question id -> the evidence and mistake quotes of its grades (a follow-up's grade covers
    the whole exchange on its question, so its quotes may sit in an earlier answer)."""
    quotes: dict[str | None, dict[str, list[str]]] = {}
    for turn in transcript.turns:
        if turn.grade is None:
            continue
        entry = quotes.setdefault(turn.question_id, {"evidence": [], "mistakes": []})
        entry["evidence"] += [q for c in turn.grade.criteria for q in c.evidence]
        entry["mistakes"] += [q for m in turn.grade.mistakes for q in (m.get("evidence") or [])]
    return quotes


def session_page(rows: list[tuple], total: int, filters: SessionFilters) -> SessionPage:
    """One page of the reviewer's session list from (session, score, answers, overrides) rows."""
    items = [
        SessionRow(
            **session.model_dump(include=set(SessionRow.model_fields)),
            score=round(value, 2) if value is not None else None, answers=count, overrides=n_overrides,
        )
        for session, value, count, n_overrides in rows
    ]
    pages = max(1, math.ceil(total / filters.per_page))
    return SessionPage(items=items, total=total, page=filters.page, per_page=filters.per_page, pages=pages)
