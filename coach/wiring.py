"""Compose the application from the settings: the interviewer and the scorer (the LLM's, wrapped in
their offline fallbacks, when a key is set; else offline), the grade queue and the service."""

from __future__ import annotations

from functools import partial

from sqlalchemy.engine import Engine

from coach import llm, prompts
from coach.config import Settings
from coach.engine import Step
from coach.grading import GradeQueue, grading_item
from coach.interviewer import FallbackInterviewer, InterviewContext, Interviewer, OfflineInterviewer
from coach.knowledge import KnowledgeBase, load_knowledge
from coach.llm_interviewer import LLMInterviewer
from coach.scoring import FallbackScorer, GradingItem, Scorer
from coach.scoring.judge import LLMJudge, judge_messages
from coach.scoring.offline import OfflineScorer
from coach.service import InterviewService


def build_service(settings: Settings, db_engine: Engine, kb=None, client=None) -> InterviewService:
    """`client` (an openai.OpenAI) is built from the settings unless a test hands one in."""
    kb = kb or load_knowledge(settings.knowledge_dir)
    check_prompts(kb, settings)
    interviewer, scorer = build_speakers(settings, kb, client)
    grading = GradeQueue(db_engine=db_engine, kb=kb, scorer=scorer, settings=settings)
    return InterviewService(kb=kb, settings=settings, db_engine=db_engine, interviewer=interviewer, grading=grading)


def build_speakers(settings: Settings, kb: KnowledgeBase, client=None) -> tuple[Interviewer, Scorer]:
    """The interviewer and the scorer: the LLM's when a key is set, each falling back to the offline one."""
    offline_interviewer, offline_scorer = OfflineInterviewer(kb), OfflineScorer(kb)
    if not settings.llm_enabled:
        return offline_interviewer, offline_scorer
    client = client or llm.make_client(settings)
    return (
        FallbackInterviewer(LLMInterviewer(client, settings, kb), offline_interviewer),
        FallbackScorer(LLMJudge(client, settings), offline_scorer),
    )


def build_grader(settings: Settings, kb=None, client=None):
    """A function grading (stage, question text, answer) outside any session, for the CLI."""
    kb = kb or load_knowledge(settings.knowledge_dir)
    check_prompts(kb, settings)
    _, scorer = build_speakers(settings, kb, client)

    def grade(stage: str, question: str, answer: str):
        return scorer.grade(grading_item(kb, stage=stage, question_id=None, question_text=question, answer=answer))

    return grade


def check_prompts(kb: KnowledgeBase, settings: Settings) -> None:
    """Render every prompt as the LLM interviewer and judge would, for each track's first question and
    every kind of step; raise prompts.PromptError naming what fails (at start-up, in `coach knowledge check`)."""
    interviewer = LLMInterviewer(None, settings, kb)
    renderings = []
    for track in kb.tracks.values():
        stage = track.stages[0]
        question = next((q for q in kb.questions.values() if q.stage == stage.id), None)
        if question is None:
            continue
        point = question.follow_ups[0].point if question.follow_ups else None
        context = InterviewContext(track=track.id, seniority=track.seniorities[0].id, opening=True)
        for kind in ("question", "follow_up", "close"):
            step = Step(kind=kind, stage=stage.id, question_id=question.id, point=point, new_stage=True)
            renderings.append((f"interviewer prompt ({track.id}, {kind})", partial(interviewer.messages, step, context)))
        item = GradingItem(stage=stage.id, question_text=question.prompt, question=question,
                           rubric=kb.rubric_for(question), answer="A sample answer.", seniority=context.seniority)
        for schema_in_prompt in (False, True):
            renderings.append((f"judge prompt ({track.id})", partial(judge_messages, item, schema_in_prompt=schema_in_prompt)))
    prompts.check(renderings)
