"""The service and the fallbacks with scripted interviewers and scorers: no HTTP, no LLM server.

These read as the contract between the session service and whatever speaks or grades for it."""

from __future__ import annotations

import pytest

from coach import store
from coach.engine import build_plan, start
from coach.grading import GradeQueue, grading_item
from coach.interviewer import FallbackInterviewer, InterviewContext, OfflineInterviewer, Restart
from coach.llm import LLMError
from coach.migrations import prepare_database
from coach.scoring import FallbackScorer, ScorerFailed
from coach.scoring.offline import OfflineScorer
from coach.service import InterviewService
from tests.support.answers import strong_answer
from tests.support.scripted import ScriptedInterviewer, ScriptedScorer, ScriptRanOut


def service_with(settings, kb, interviewer, scorer) -> InterviewService:
    db_engine = store.make_engine(settings.sqlalchemy_url)
    prepare_database(db_engine, settings)
    grading = GradeQueue(db_engine=db_engine, kb=kb, scorer=scorer, settings=settings)
    return InterviewService(kb=kb, settings=settings, db_engine=db_engine, interviewer=interviewer, grading=grading)


def first_step(kb):
    """The step that opens a phone screen."""
    plan = build_plan(kb, track="backend-developer", seniority="middle", stages=["phone_screen"], seed=1)
    return start(plan, store.utcnow())[1]


def test_an_interviewer_that_breaks_midway_is_replaced_by_the_offline_words_whole(kb):
    step, context = first_step(kb), InterviewContext(track="backend-developer", seniority="middle", opening=True)
    broken = ScriptedInterviewer([["Thanks for joining. ", LLMError("the stream broke")]])
    offline = OfflineInterviewer(kb)

    pieces = list(FallbackInterviewer(broken, offline).reply(step, context))

    assert pieces[0] == "Thanks for joining. "  # already streamed to the candidate...
    assert pieces[1] == Restart(by="offline")  # ...so the page is told to drop it
    assert pieces[2:] == [offline.text(step, context)]


def test_a_failed_llm_grade_is_replaced_by_the_offline_grade_and_says_why(kb):
    item = grading_item(kb, stage="phone_screen", question_id=None, question_text="Why backend?",
                        answer="I like designing APIs that other teams can rely on.")
    scorer = FallbackScorer(ScriptedScorer([ScorerFailed("the judge timed out")]), OfflineScorer(kb))

    grade = scorer.grade(item)

    assert grade.scorer == "offline-fallback" and grade.fallback_reason == "the judge timed out"
    assert grade.overall == OfflineScorer(kb).grade(item).overall


def test_a_coach_mode_turn_grades_the_answer_as_data_then_says_the_next_reply(settings, kb):
    interviewer = ScriptedInterviewer(["Hello, tell me why backend.", "Thanks. Next: how do you test?"])
    scorer = ScriptedScorer([4.0])
    service = service_with(settings, kb, interviewer, scorer)
    session, _, opening = service.start_session(track="backend-developer", seniority="middle",
                                                stages=["phone_screen"], mode="coach", seed=1)
    question_id = opening[0].question_id
    answer = strong_answer(kb, question_id)

    result = service.submit_answer(session_id=session.id, text=answer)

    assert opening[0].text == "Hello, tell me why backend."
    assert result.reply.text == "Thanks. Next: how do you test?"
    assert [item.answer for item in scorer.items] == [answer]  # graded the candidate's words, nothing added
    assert result.grade.status == "done" and result.grade.overall == 4.0
    step, context = interviewer.asked[1]
    assert step.kind in {"follow_up", "question", "nudge"} and context.last_candidate_message == answer


def test_a_script_that_runs_out_fails_the_test_loudly(kb):
    step, context = first_step(kb), InterviewContext(track="backend-developer", seniority="middle")
    interviewer = ScriptedInterviewer(["only one"])
    assert list(interviewer.reply(step, context)) == ["only one"]
    with pytest.raises(ScriptRanOut):
        list(interviewer.reply(step, context))
