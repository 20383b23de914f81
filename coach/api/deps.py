"""FastAPI dependencies, in one place, as Annotated aliases routes can declare."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Header, HTTPException, Path, Request
from sqlmodel import Session

from coach import reviewers, store
from coach.config import Settings
from coach.knowledge import KnowledgeBase
from coach.review_store import Reviewer
from coach.service import InterviewService

# The dependencies that only read app state are `async def`: FastAPI runs a sync dependency in
# the thread pool, and a thread hop per dependency was a large part of a request's CPU cost.


async def get_service(request: Request) -> InterviewService:
    return request.app.state.service


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_kb(request: Request) -> KnowledgeBase:
    return request.app.state.service.kb


def get_db(service: Annotated[InterviewService, Depends(get_service)]):
    with Session(service.db_engine, expire_on_commit=False) as db:
        yield db


ServiceDep = Annotated[InterviewService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
KnowledgeDep = Annotated[KnowledgeBase, Depends(get_kb)]
DbDep = Annotated[Session, Depends(get_db)]


async def bearer_token(authorization: Annotated[str | None, Header()] = None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def candidate_session(
    service: ServiceDep,
    session_id: Annotated[str, Path(max_length=64)],
    token: Annotated[str | None, Depends(bearer_token)],
) -> store.InterviewSession:
    """The session this bearer token opens; 404 for a missing or foreign token, as for no session.

    Read in its own short connection: none stays checked out while the request streams."""
    session = service.session_for_token(session_id, token)
    if session is None:
        raise HTTPException(status_code=404, detail="session not found")
    return session


CandidateSessionDep = Annotated[store.InterviewSession, Depends(candidate_session)]


# --- form posts ---------------------------------------------------------------------------


async def same_origin_form(request: Request) -> None:
    """Refuse a form post that another site's page sent (CSRF): its Origin (or, when a browser
    leaves that out, its Referer; the Referrer-Policy header keeps both on our own pages) must name
    this host. A request with neither is no browser's cross-site post (a script or curl) and passes."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is not None and urlsplit(source).netloc.lower() != request.headers.get("host", "").lower():
        raise HTTPException(status_code=403, detail="this form was sent from another site; open it on this site")



# --- reviewers ------------------------------------------------------------------------------
# The review API takes a reviewer's bearer token; the review pages a login in the signed session
# cookie. The exports serve both, so their dependency accepts either login.


def _token_reviewer(db: Session, token: str | None) -> Reviewer | None:
    return reviewers.reviewer_for_token(db=db, token=token) if token else None


def _cookie_reviewer(request: Request, db: Session) -> Reviewer | None:
    return reviewers.reviewer_for_login(db=db, secret=request.session.get("login"))


def _token_required() -> HTTPException:
    return HTTPException(status_code=401, detail="a reviewer token is required", headers={"WWW-Authenticate": "Bearer"})


def _login_redirect(request: Request) -> HTTPException:
    target = "/review/sessions"
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/review/login?" + urlencode({"next": target})
    return HTTPException(status_code=303, detail="log in first", headers={"Location": location})


def api_reviewer(db: DbDep, token: Annotated[str | None, Depends(bearer_token)]) -> Reviewer:
    reviewer = _token_reviewer(db, token)
    if reviewer is None:
        raise _token_required()
    return reviewer


def page_reviewer(request: Request, db: DbDep) -> Reviewer:
    """The logged-in reviewer; anyone else is sent to the login page."""
    reviewer = _cookie_reviewer(request, db)
    if reviewer is None:
        raise _login_redirect(request)
    return reviewer


def any_reviewer(request: Request, db: DbDep, token: Annotated[str | None, Depends(bearer_token)]) -> Reviewer:
    """A reviewer by bearer token or by login cookie; refused the way the caller's area refuses
    (401 under /api, the login page elsewhere)."""
    reviewer = _token_reviewer(db, token) or _cookie_reviewer(request, db)
    if reviewer is None:
        raise _token_required() if request.url.path.startswith("/api/") else _login_redirect(request)
    return reviewer


ApiReviewerDep = Annotated[Reviewer, Depends(api_reviewer)]
PageReviewerDep = Annotated[Reviewer, Depends(page_reviewer)]
AnyReviewerDep = Annotated[Reviewer, Depends(any_reviewer)]
SessionIdPath = Annotated[str, Path(max_length=64)]
