"""FastAPI dependencies, in one place, as Annotated aliases routes can declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Request
from sqlmodel import Session

from coach import store
from coach.config import Settings
from coach.knowledge import KnowledgeBase
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
    with Session(service.engine, expire_on_commit=False) as db:
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

    Its own short database session: no connection stays checked out while the request streams."""
    with service.engine.connect() as db:
        session = store.read_session_for_token(db=db, session_id=session_id, token=token)
    if session is None:
        raise HTTPException(status_code=404, detail="session not found")
    return session


CandidateSessionDep = Annotated[store.InterviewSession, Depends(candidate_session)]
