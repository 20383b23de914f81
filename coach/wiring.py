"""Choose the interviewer and the scorer from the settings: LLM when a key is set, else offline."""

from __future__ import annotations

from coach import llm
from coach.config import Settings
from coach.interviewer import Interviewer, OfflineInterviewer
from coach.knowledge import load_knowledge
from coach.llm_interviewer import LLMInterviewer
from coach.scoring import Scorer
from coach.scoring.judge import LLMJudge
from coach.scoring.offline import OfflineScorer
from coach.service import InterviewService


def build_service(settings: Settings, engine, kb=None, client=None) -> InterviewService:
    """`client` (an openai.OpenAI) is built from the settings unless a test hands one in."""
    kb = kb or load_knowledge()
    interviewer: Interviewer = OfflineInterviewer(kb)
    scorer: Scorer = OfflineScorer(kb)
    if settings.llm_enabled:
        client = client or llm.make_client(settings)
        interviewer, scorer = LLMInterviewer(client, settings, kb), LLMJudge(client, settings)
    return InterviewService(kb=kb, settings=settings, engine=engine, interviewer=interviewer, scorer=scorer)


def build_grader(settings: Settings, kb=None, client=None):
    """A function grading (stage, question text, answer) outside any session, for the CLI."""
    kb = kb or load_knowledge()
    service = build_service(settings, None, kb, client)

    def grade(stage: str, question: str, answer: str):
        return service.scorer.grade(service.grading_item(stage=stage, question_id=None, question_text=question, answer=answer))

    return grade
