"""The candidate's web pages: start, chat, report, history.

Thin on purpose: the service runs the interview and the presenters (coach.presenters) shape the data;
these routes pick a template and authorize by the sessions this browser remembers. A browser
remembers a session as id -> token in a signed HttpOnly cookie; the chat page hands the
candidate's own token to its script for the JSON API calls.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer

from coach import store
from coach.api.deps import KnowledgeDep, ServiceDep, SettingsDep, same_origin_form
from coach.api.templating import templates
from coach.config import Settings
from coach.drills import DrillError
from coach.engine import INVITE, DrillTarget, PlanError, stage_minutes
from coach.jobs import MAX_CHARS as JOB_TEXT_LIMIT
from coach.presenters.drills import comparisons, drill_target, original_of
from coach.presenters.records import SessionRecords
from coach.presenters.report import report_out, reviewed_answers
from coach.presenters.session import session_out, transcript_out
from coach.ratelimit import limit_sessions
from coach.service import SessionStillActive, asked_questions

COOKIE = "coach_sessions"
REMEMBERED = 30  # sessions a browser keeps; the signed cookie stays well under 4 KB

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin_form)])


# --- the sessions this browser holds --------------------------------------------------------


def _signer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.signing_key(), salt="coach.browser-sessions")


def browser_sessions(request: Request, settings: SettingsDep) -> dict[str, str]:
    """id -> token for the sessions started in this browser, oldest first."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    try:
        return {str(i): str(t) for i, t in _signer(settings).loads(raw)}
    except (BadSignature, TypeError, ValueError):
        return {}


HeldDep = Annotated[dict[str, str], Depends(browser_sessions)]


def remember(response: Response, request: Request, settings: Settings, held: dict, session_id: str, token: str):
    pairs = [[i, t] for i, t in held.items() if i != session_id][-(REMEMBERED - 1):] + [[session_id, token]]
    response.set_cookie(
        COOKIE, _signer(settings).dumps(pairs), max_age=365 * 24 * 3600, httponly=True, samesite="lax",
        secure=request.url.scheme == "https",
    )


def owned_session(session_id: Annotated[str, Path(max_length=64)], held: HeldDep, service: ServiceDep):
    """The session if this browser started it, else None (the route answers with a 404 page)."""
    return service.session_for_token(session_id, held.get(session_id))


OwnedDep = Annotated[store.InterviewSession | None, Depends(owned_session)]


def not_found(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "not_found.html", {}, status_code=404)


# --- start ----------------------------------------------------------------------------------


def grading_note(service, settings: Settings) -> dict:
    llm = settings.llm_enabled and service.grading.scorer.name != "offline"
    return {"llm": llm, "model": settings.effective_judge_model if llm else None}


def start_context(service, settings: Settings, held: dict, **form) -> dict:
    track = service.kb.default_track
    chosen = {
        "seniority": track.default_seniority, "mode": "coach", "stages": list(track.default_stages), "error": None,
        "length": service.kb.formats.default_length.id, "job_description": "", "cv_summary": "", **form,
    }
    lengths = length_choices(service.kb, track, chosen["stages"] or list(track.default_stages))
    return {"track": track, "grading": grading_note(service, settings), "held": len(held), "lengths": lengths,
            "job_limit": JOB_TEXT_LIMIT, **chosen}


def length_choices(kb, track, stage_ids: list[str]) -> list[dict]:
    """Each length with how long it takes over the chosen stages, as the plan will count it; `per_stage`
    (every stage) lets the page recount when other stages are ticked, `fixed` a length with a set total."""
    chosen = [s for s in track.stages if s.id in stage_ids]
    return [
        {"id": length.id, "title": length.title, "description": length.description,
         "minutes": sum(stage_minutes(chosen, length).values()), "fixed": length.total_minutes,
         "per_stage": stage_minutes(track.stages, length)}
        for length in kb.formats.lengths
    ]


@router.get("/", response_class=HTMLResponse)
def start_page(request: Request, service: ServiceDep, settings: SettingsDep, held: HeldDep):
    return templates.TemplateResponse(request, "start.html", start_context(service, settings, held))


@router.post("/sessions", dependencies=[Depends(limit_sessions)])
def start_from_form(
    request: Request, service: ServiceDep, settings: SettingsDep, held: HeldDep,
    seniority: Annotated[str | None, Form(max_length=32)] = None,  # None: the track's default
    mode: Annotated[str, Form(max_length=32)] = "coach",
    stages: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies form defaults
    length: Annotated[str | None, Form(max_length=32)] = None,  # None: the default length
    job_description: Annotated[str, Form()] = "",
    cv_summary: Annotated[str, Form()] = "",
):
    track = service.kb.default_track
    seniority = track.default_seniority if seniority is None else seniority
    length = service.kb.formats.default_length.id if length is None else length
    form = {"seniority": seniority, "mode": mode, "stages": stages, "length": length,
            "job_description": job_description[:JOB_TEXT_LIMIT], "cv_summary": cv_summary[:JOB_TEXT_LIMIT]}
    try:
        if not stages:
            raise PlanError("Choose at least one stage.")
        if mode not in ("coach", "interview"):
            raise PlanError("Choose coach or interview mode.")
        for label, text in (("job description", job_description), ("CV summary", cv_summary)):
            if len(text) > JOB_TEXT_LIMIT:
                raise PlanError(f"The {label} is too long: at most {JOB_TEXT_LIMIT:,} characters.")
        session, token, _ = service.start_session(
            track=track.id, seniority=seniority, stages=stages, mode=mode, length=length,
            job_description=job_description, cv_summary=cv_summary,
        )
    except PlanError as exc:
        context = start_context(service, settings, held, error=str(exc), **form)
        return templates.TemplateResponse(request, "start.html", context, status_code=422)
    response = RedirectResponse(f"/s/{session.id}", status_code=303)
    remember(response, request, settings, held, session.id, token)
    return response


# --- chat -----------------------------------------------------------------------------------


def stage_list(kb, session: store.InterviewSession) -> list:
    """The session's stages, each with the minutes its plan gives it at the chosen length."""
    track = kb.track(session.track)
    return [track.stage(s["stage"]).model_copy(update={"minutes": s["minutes"]}) for s in session.plan["stages"]]


def phase_title(kb, turn) -> str | None:
    """The phase a turn belongs to, as the chat labels it."""
    if not turn.phase or not turn.stage:
        return None
    if turn.phase == INVITE:
        return "Your questions"
    fmt = kb.formats.for_stage(turn.stage)
    return next((p.title for p in fmt.phases if p.id == turn.phase), None)


def turn_items(kb, records: SessionRecords) -> list[dict]:
    """The transcript, each interviewer turn that opens a stage marked with that stage."""
    stages = stage_list(kb, records.session)
    numbers = {s.id: n for n, s in enumerate(stages, start=1)}
    items, current, shown = [], None, set()
    for turn in transcript_out(records):
        opens = turn.role == "interviewer" and turn.stage is not None and turn.stage != current
        current = turn.stage or current
        model_answer = kb.model_answers.get(turn.question_id) if records.session.mode == "coach" and turn.grade else None
        items.append({
            "turn": turn,
            "opens": stages[numbers[turn.stage] - 1] if opens else None,
            "number": numbers.get(turn.stage),
            "phase": phase_title(kb, turn),
            "model_answer": model_answer,
            "model_answer_open": model_answer is not None and turn.question_id not in shown,  # later ones fold
        })
        if model_answer:
            shown.add(turn.question_id)
    return items


@router.get("/s/{session_id}", response_class=HTMLResponse)
def chat_page(request: Request, session: OwnedDep, service: ServiceDep, held: HeldDep):
    if session is None:
        return not_found(request)
    service.resume_interrupted(session.id)  # a step a crash left half done is finished first
    records = service.records(session.id)
    context = {
        "session": session_out(service.kb, records), "token": held[session.id],
        "stages": stage_list(service.kb, records.session), "items": turn_items(service.kb, records),
        "grading": grading_note(service, service.settings), "drill": drill_title(service.kb, records.session),
        "code_stages": service.kb.formats.code_stages(),
    }
    return templates.TemplateResponse(request, "chat.html", context)


@router.get("/s/{session_id}/turns", response_class=HTMLResponse)
def turns_fragment(request: Request, session: OwnedDep, service: ServiceDep, after: int = -1):
    """The transcript's turns after `after` (a seq), as the <li> items the chat page shows."""
    if session is None:
        return not_found(request)
    items = [i for i in turn_items(service.kb, service.records(session.id)) if i["turn"].seq > after]
    return templates.TemplateResponse(request, "_turns.html", {"items": items})


# --- reference answers ----------------------------------------------------------------------


@router.get("/questions/{question_id}", response_class=HTMLResponse)
def question_page(request: Request, question_id: str, kb: KnowledgeDep):
    """A question with what a strong answer covers; the report and the reviewer transcript link here."""
    question = kb.questions.get(question_id)
    if question is None:
        raise HTTPException(status_code=404, detail="question not found")
    context = {"question": question, "stage": kb.stage(question.stage), "model_answer": kb.model_answers[question.id]}
    return templates.TemplateResponse(request, "question.html", context)


# --- report ---------------------------------------------------------------------------------


def exchanges(items: list[dict]) -> list[dict]:
    """Each answer with what the interviewer asked just before it."""
    pairs, asked = [], None
    for item in items:
        if item["turn"].role == "interviewer":
            asked = item
        else:
            pairs.append({"asked": asked, "answer": item["turn"], "grade": item["turn"].grade})
    return pairs


@router.get("/s/{session_id}/report", response_class=HTMLResponse)
def report_page(request: Request, session: OwnedDep, service: ServiceDep):
    if session is None:
        return not_found(request)
    if session.status == "active":
        return RedirectResponse(f"/s/{session.id}", status_code=303)
    service.grading.complete(session.id)  # before reading: the report shows every grade
    records = service.records(session.id)
    pairs = exchanges(turn_items(service.kb, records))
    context = {
        "session": session_out(service.kb, records), "report": report_out(service.kb, records),
        "stages": stage_list(service.kb, session), "exchanges": pairs,
        "reviewed": reviewed_answers(records), "drill_at": drill_offers(pairs, asked_questions(records.turns)),
        "track": service.kb.track(session.track),
    }
    return templates.TemplateResponse(request, "report.html", context)


# --- drills ---------------------------------------------------------------------------------


def drill_offers(pairs: list[dict], asked: set[str]) -> set[int]:
    """The answers that carry a "Retry this question" button: the first answer to each question asked."""
    offered: dict[str, int] = {}
    for pair in pairs:
        question_id = pair["answer"].question_id
        if question_id in asked and question_id not in offered:
            offered[question_id] = pair["answer"].id
    return set(offered.values())


@router.post("/s/{session_id}/drills", dependencies=[Depends(limit_sessions)])
def start_drill(
    request: Request, session: OwnedDep, service: ServiceDep, settings: SettingsDep, held: HeldDep,
    question_id: Annotated[str | None, Form(max_length=100)] = None,
    stage: Annotated[str | None, Form(max_length=100)] = None,
):
    """Retry one question or stage of a session this browser holds, then open the new session's chat."""
    if session is None:
        return not_found(request)
    try:
        target = DrillTarget(question_id=question_id or None, stage=stage or None)
        drill, token, _ = service.start_drill(session_id=session.id, target=target)
    except (ValueError, SessionStillActive) as exc:  # DrillError, or a form naming both or neither
        status = 409 if isinstance(exc, SessionStillActive) else 422
        message = str(exc) if isinstance(exc, DrillError | SessionStillActive) else "Choose one question or one stage."
        context = {"title": "That cannot be drilled", "message": message, "session_id": session.id}
        return templates.TemplateResponse(request, "problem.html", context, status_code=status)
    response = RedirectResponse(f"/s/{drill.id}", status_code=303)
    remember(response, request, settings, held, drill.id, token)
    return response


# --- history --------------------------------------------------------------------------------


def past_sessions(service, held: dict) -> list[dict]:
    """The sessions this browser holds, oldest first, each with its report once it has ended."""
    rows = []
    for session_id, token in held.items():
        session = service.session_for_token(session_id, token)
        if session is None:
            continue
        report = report_out(service.kb, service.records(session_id)) if session.status != "active" else None
        rows.append({"session": session, "stages": stage_list(service.kb, session), "report": report,
                     "drill": drill_title(service.kb, session)})
    return sorted(rows, key=lambda r: r["session"].created_at)


def drill_title(kb, session: store.InterviewSession) -> str | None:
    """What a drill retries, as the history names it; None for a session that is no drill."""
    target = drill_target(session)
    if target is None:
        return None
    if target.stage is not None:
        return f"the {stage_list(kb, session)[0].title} stage"
    question = kb.questions.get(target.question_id or "")
    return f"“{question.prompt}”" if question else target.question_id


def drill_comparisons(service, rows: list[dict]) -> list[dict]:
    """Each held original with drills held here: its questions and stages drilled, attempts side by side."""
    held = {r["session"].id: r["session"] for r in rows}
    originals = {original_of(r["session"]) for r in rows if r["session"].drill_of}
    found = []
    for original_id in sorted(originals, key=lambda i: held[i].created_at if i in held else store.utcnow()):
        original = held.get(original_id)
        if original is None:  # an original this browser no longer holds is not shown
            continue
        drills = [d for d in service.drill_records(original_id) if d.session.id in held]
        for comparison in comparisons(service.kb, service.records(original_id), drills):
            found.append({"original": original, "comparison": comparison,
                          "points": {p.id: p.text for p in comparison.key_points}})
    return found


def criterion_trends(rows: list[dict]) -> list[dict]:
    """For each criterion: its score in every ended session (None where it was not graded)."""
    ended = [r["report"] for r in rows if r["report"] is not None]
    names = {c.id: c.name for report in ended for c in report.criteria}
    trends = []
    for criterion_id, name in sorted(names.items(), key=lambda kv: kv[1]):
        scores = [next((c.score for c in r.criteria if c.id == criterion_id), None) for r in ended]
        known = [s for s in scores if s is not None]
        trends.append({"id": criterion_id, "name": name, "scores": scores, "first": known[0], "last": known[-1]})
    return trends


@router.get("/history", response_class=HTMLResponse)
def history_page(request: Request, service: ServiceDep, held: HeldDep):
    rows = past_sessions(service, held)
    context = {"rows": rows, "trends": criterion_trends(rows), "ended": sum(r["report"] is not None for r in rows),
               "drills": drill_comparisons(service, rows)}
    return templates.TemplateResponse(request, "history.html", context)
