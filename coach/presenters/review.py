"""The reviewer's view: the session list, and a session as a scored transcript with overrides and comments."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

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
from coach.exports import grade_csv_records
from coach.presenters.records import SessionRecords
from coach.presenters.report import overall_of
from coach.report import effective_scores
from coach.review_store import Override, ReviewComment

SUMMARY_FIELDS = {"id", "track", "seniority", "mode", "status", "reviewed", "created_at", "finished_at", "drill_of"}
GRADE_FIELDS = {
    "id", "status", "stage", "question_id", "question_text", "flags", "missed_points", "tip", "scorer",
    "model", "rubric_version", "prompt_version", "latency_ms", "retries", "fallback_reason",
}


def grade_out(grade: store.GradeRecord, overrides: list[Override]) -> ReviewGradeOut:
    scores = effective_scores(grade, overrides)
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
    return ReviewSessionOut(
        **records.session.model_dump(include=SUMMARY_FIELDS), score=overall_of(records), turns=turns,
        job_description=records.session.job_description or "", cv_summary=records.session.cv_summary or "",
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


def session_list(db, filters: SessionFilters) -> SessionPage:
    """One page of the reviewer's session list, each with the overall the candidate's report shows."""
    sessions = review_store.matching_sessions(db=db, filters=filters)
    turns, grades, overrides = review_store.score_inputs(db=db, filters=filters)
    rows = [_session_row(records) for records in _records_by_session(sessions, turns, grades, overrides)]
    rows = [r for r in rows if _in_range(r.score, filters)]
    page = _sorted(rows, filters)[(filters.page - 1) * filters.per_page:][:filters.per_page]
    pages = max(1, math.ceil(len(rows) / filters.per_page))
    return SessionPage(items=page, total=len(rows), page=filters.page, per_page=filters.per_page, pages=pages)


def _records_by_session(sessions, turns, grades, overrides) -> list[SessionRecords]:
    grouped: dict[str, dict[str, list]] = {s.id: {"turns": [], "grades": [], "overrides": []} for s in sessions}
    for name, rows in (("turns", turns), ("grades", grades), ("overrides", overrides)):
        for row in rows:
            if row.session_id in grouped:
                grouped[row.session_id][name].append(row)
    return [SessionRecords(session=s, **grouped[s.id]) for s in sessions]


def _session_row(records: SessionRecords) -> SessionRow:
    return SessionRow(
        **records.session.model_dump(include=SUMMARY_FIELDS), score=overall_of(records),
        answers=sum(g.status == "done" for g in records.grades), overrides=len(records.overrides),
    )


def _in_range(score: float | None, filters: SessionFilters) -> bool:
    if filters.score_min is None and filters.score_max is None:
        return True
    if score is None:
        return False
    return (filters.score_min is None or score >= filters.score_min) and (
        filters.score_max is None or score <= filters.score_max)


def _sorted(rows: list[SessionRow], filters: SessionFilters) -> list[SessionRow]:
    """Sorted on the chosen column, ties by id, sessions without a value (no score yet) last."""
    def key(row: SessionRow):
        return getattr(row, filters.sort)

    known = sorted((r for r in rows if key(r) is not None), key=lambda r: r.id)
    known.sort(key=key, reverse=filters.order == "desc")  # stable: ties stay in id order
    return known + sorted((r for r in rows if key(r) is None), key=lambda r: r.id)


def grade_export_records(batches: Iterable[review_store.ExportBatch]) -> Iterator[dict]:
    """The CSV export's records, session by session, each row carrying its session's overall."""
    for batch in batches:
        for records in _records_by_session(*batch):
            overall = overall_of(records)
            texts = {t.id: t.text for t in records.turns}
            overrides = records.overrides_by_grade()
            for grade in records.grades:
                graded = grade_out(grade, overrides.get(grade.id, []))
                yield from grade_csv_records(records.session, grade, graded, texts.get(grade.turn_id, ""), overall)
