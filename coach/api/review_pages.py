"""The reviewer's pages under /review: login, sessions, scored transcripts, overrides, insights, exports.

A reviewer logs in with email and password; the login is a row on the server whose secret sits in
Starlette's signed session cookie (HttpOnly, SameSite=lax, scoped to /review). Every form that changes something carries the
session's CSRF token in a hidden field, checked before anything is written. The data comes from
the same assemblers as the review JSON API (coach.api.review), so pages and API agree.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from coach import review_store, reviewers, store
from coach.api.deps import DbDep, PageReviewerDep, ServiceDep, SessionIdPath, same_origin_form
from coach.api.review import (
    insights_out,
    mark_session_reviewed,
    save_comment,
    save_override,
    transcript_of,
)
from coach.api.schemas import OverrideIn, SessionFilters
from coach.api.templating import templates
from coach.config import Settings
from coach.presenters.review import answer_quotes, session_list
from coach.review_store import Reviewer

COOKIE = "coach_review"

router = APIRouter(prefix="/review", include_in_schema=False, dependencies=[Depends(same_origin_form)])


def session_cookie_options(settings: Settings) -> dict:
    """Options for Starlette's SessionMiddleware (added in create_app)."""
    return {
        "secret_key": settings.signing_key(),
        "session_cookie": COOKIE,
        "max_age": int(reviewers.LOGIN_LIFETIME.total_seconds()),
        "path": "/review",
        "same_site": "lax",
        "https_only": settings.environment == "production",
    }


# --- login and CSRF -------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def checked_csrf(request: Request, csrf_token: Annotated[str | None, Form()] = None) -> None:
    expected = request.session.get("csrf")
    if not expected or not csrf_token or not hmac.compare_digest(expected, csrf_token):
        raise HTTPException(status_code=403, detail="the form has expired or did not come from this site; reload it")


ReviewerDep = PageReviewerDep
CsrfDep = Annotated[None, Depends(checked_csrf)]


def render(request: Request, name: str, reviewer: Reviewer | None, status_code: int = 200, **context):
    context.update(reviewer=reviewer, csrf=csrf_token(request), flash=request.session.pop("flash", None))
    return templates.TemplateResponse(request, f"review/{name}", context, status_code=status_code)


def flash(request: Request, text: str, kind: str = "ok") -> None:
    request.session["flash"] = {"kind": kind, "text": text}


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(target: str | None) -> str:
    """Only a path inside the reviewer area: never an open redirect."""
    if target and target.startswith("/review/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/review/sessions"


@router.get("/login")
def login_page(request: Request, db: DbDep, next: str | None = None):
    if reviewers.reviewer_for_login(db=db, secret=request.session.get("login")):
        return see_other(_safe_next(next))
    return render(request, "login.html", None, next=_safe_next(next), error=None, email="")


@router.post("/login")
def login(
    request: Request, db: DbDep, _csrf: CsrfDep,
    email: Annotated[str, Form(max_length=320)], password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str | None, Form()] = None,
):
    client = request.client.host if request.client else "unknown"
    try:
        reviewer = reviewers.authenticate(db=db, email=email, password=password, client=client)
    except reviewers.ReviewerError as exc:
        status = 429 if isinstance(exc, reviewers.LoginThrottled) else 401
        return render(request, "login.html", None, status, next=_safe_next(next), error=str(exc), email=email)
    request.session.clear()  # a fresh login gets a fresh CSRF token
    request.session["login"] = reviewers.start_login(db=db, reviewer=reviewer)
    return see_other(_safe_next(next))


@router.post("/logout")
def logout(request: Request, _reviewer: ReviewerDep, _csrf: CsrfDep, db: DbDep):
    reviewers.end_login(db=db, secret=request.session.get("login"))  # the cookie, if kept, opens nothing
    request.session.clear()
    return see_other("/review/login")


# --- sessions -------------------------------------------------------------------------------


@router.get("")
def review_home(_reviewer: ReviewerDep):
    return see_other("/review/sessions")


def filters_from_query(request: Request) -> tuple[SessionFilters, str | None]:
    """Filters from the query string; an empty form field means no filter."""
    raw = {key: value for key, value in request.query_params.items() if value.strip()}
    try:
        return SessionFilters.model_validate(raw), None
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        return SessionFilters(), f"ignored the filters, some values were not valid: {fields}"


def _query_string(filters: SessionFilters, **changes) -> str:
    values = filters.model_dump(exclude_defaults=True, mode="json") | changes
    return urlencode({k: v for k, v in values.items() if v is not None and v != ""})


@router.get("/sessions")
def sessions_page(request: Request, reviewer: ReviewerDep, db: DbDep):
    filters, error = filters_from_query(request)
    page = session_list(db, filters)

    def sort_link(column: str) -> str:
        order = "asc" if filters.sort == column and filters.order == "desc" else "desc"
        return "?" + _query_string(filters, sort=column, order=order, page=1)

    return render(
        request, "sessions.html", reviewer, filters=filters, page=page, error=error,
        choices=review_store.filter_choices(db=db), sort_link=sort_link,
        page_link=lambda number: "?" + _query_string(filters, page=number),
    )


@router.get("/sessions/{session_id}")
def session_page(request: Request, reviewer: ReviewerDep, service: ServiceDep, session_id: SessionIdPath):
    transcript = transcript_of(service, session_id)
    return render(request, "session.html", reviewer, t=transcript, quotes=answer_quotes(transcript))


@router.post("/grades/{grade_id}/override")
def override_from_form(
    request: Request, reviewer: ReviewerDep, _csrf: CsrfDep, service: ServiceDep, db: DbDep, grade_id: int,
    score: Annotated[str, Form()], comment: Annotated[str, Form(max_length=5000)] = "",
    criterion: Annotated[str, Form(max_length=200)] = "",
):
    grade = service.grade(grade_id)
    if grade is None:
        raise HTTPException(status_code=404, detail="grade not found")
    back = f"/review/sessions/{grade.session_id}#grade-{grade.id}"
    try:
        body = OverrideIn(criterion=criterion or None, score=score, comment=comment)
        save_override(service, db, grade_id, body, reviewer)
    except ValidationError as exc:
        flash(request, "The override was not saved: " + "; ".join(e["msg"] for e in exc.errors()), "error")
    except HTTPException as exc:
        flash(request, f"The override was not saved: {exc.detail}", "error")
    else:
        flash(request, "Override saved; the machine's score is kept beside it.")
    return see_other(back)


@router.post("/turns/{turn_id}/comments")
def comment_from_form(
    request: Request, reviewer: ReviewerDep, _csrf: CsrfDep, db: DbDep, turn_id: int,
    text: Annotated[str, Form(max_length=5000)] = "",
):
    turn = db.get(store.Turn, turn_id)
    if turn is None:
        raise HTTPException(status_code=404, detail="answer not found")
    if text.strip():
        save_comment(db, turn.id, text, reviewer)
        flash(request, "Comment added.")
    else:
        flash(request, "An empty comment was not saved.", "error")
    return see_other(f"/review/sessions/{turn.session_id}#turn-{turn.id}")


@router.post("/sessions/{session_id}/reviewed")
def reviewed_from_form(
    request: Request, _reviewer: ReviewerDep, _csrf: CsrfDep, db: DbDep, session_id: SessionIdPath,
    reviewed: Annotated[str, Form()] = "true",
):
    mark_session_reviewed(db, session_id, reviewed == "true")
    flash(request, "Marked reviewed." if reviewed == "true" else "Marked not reviewed.")
    return see_other(f"/review/sessions/{session_id}")


# --- insights ---------------------------------------------------------------------------


def bar_chart(values: dict, *, width: int = 260, height: int = 120, label: str = "") -> dict:
    """SVG bar chart geometry for label -> count, with room above the tallest bar for its count."""
    top = max(values.values(), default=0) or 1
    slot = width / max(1, len(values))
    bars = []
    for i, (name, value) in enumerate(values.items()):
        h = round((height - 32) * value / top, 1)
        bars.append({"label": str(name), "value": value, "x": round(i * slot + slot * 0.15, 1),
                     "y": round(height - 16 - h, 1), "w": round(slot * 0.7, 1), "h": h,
                     "cx": round(i * slot + slot / 2, 1)})
    return {"width": width, "height": height, "bars": bars, "label": label}


def hbar_chart(items: list[dict], *, width: int = 520, row: int = 22) -> dict:
    """Geometry for a horizontal bar chart of the top mistakes."""
    top = max((item["count"] for item in items), default=0) or 1
    bars = [
        {"label": item["name"], "value": item["count"], "y": i * row, "w": round(280 * item["count"] / top, 1)}
        for i, item in enumerate(items)
    ]
    return {"width": width, "height": max(row, row * len(items)), "bars": bars, "row": row}


@router.get("/insights")
def insights_page(request: Request, reviewer: ReviewerDep, db: DbDep):
    data = insights_out(db)
    charts = {
        "stages": {stage: bar_chart(h, label=f"{stage}: overall scores") for stage, h in data.by_stage.items()},
        "criteria": {name: bar_chart(h, label=f"{name}: scores") for name, h in data.by_criterion.items()},
        "mistakes": hbar_chart(data.mistakes),
        "changes": bar_chart({f"{d:+d}" if d else "0": n for d, n in data.overrides["by_change"].items()},
                             width=360, label="override size (reviewer − machine)"),
    }
    return render(request, "insights.html", reviewer, data=data, charts=charts)
