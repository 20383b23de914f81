"""The LLM interviewer: the model phrases each step the engine decides, streamed as it writes.

It is told one step at a time (greet, ask this question, probe this missed point, move to the
next stage, close) and sees only the last few turns, never the rubric's scores or model answers.
Any failure raises, and the service carries on with the offline interviewer.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

from coach import llm, prompts
from coach.config import Settings
from coach.engine import INVITE, Step
from coach.formats import phase_follow_ups, phase_key_points
from coach.interviewer import InterviewContext
from coach.knowledge import KnowledgeBase
from coach.prompts import strip_boundary

SYSTEM_TEMPLATE = "interviewer_system.j2"
TURN_TEMPLATE = "interviewer_turn.j2"
MAX_TURN_CHARS = 1500  # each recent turn is clipped: a compact history, not the transcript


class LLMInterviewer:
    name = "llm"

    def __init__(self, client, settings: Settings, kb: KnowledgeBase):
        self.client = client
        self.kb = kb
        self.model = settings.model
        self.sampling = llm.Sampling.from_settings(settings)
        self.policy = llm.RetryPolicy.from_settings(settings)

    def reply(self, step: Step, context: InterviewContext) -> Iterator[str]:
        stream = llm.stream_chat(
            self.client, model=self.model, messages=self.messages(step, context),
            sampling=self.sampling, policy=self.policy,
        )
        yield from stream

    def messages(self, step: Step, context: InterviewContext) -> list[dict]:
        """The stable system prompt first, then one user message: recent turns and this step."""
        track = self.kb.track(context.track)
        system = prompts.render(SYSTEM_TEMPLATE, track=track.title, seniority=context.seniority)
        turn = prompts.render(TURN_TEMPLATE, track=track.title, seniority=context.seniority, **self._step_values(step, context))
        return [{"role": "system", "content": system}, {"role": "user", "content": turn}]

    def _step_values(self, step: Step, context: InterviewContext) -> dict:
        question = self.kb.questions.get(step.question_id) if step.question_id else None
        stage = self.kb.track(context.track).stage(step.stage) if step.stage else None
        phased = question is not None and step.phase not in (None, INVITE) and question.id in self.kb.sheets
        follow_ups = phase_follow_ups(self.kb, question.id, step.phase) if phased else (
            question.follow_ups if question else [])
        points = phase_key_points(self.kb, question.id, step.phase) if phased else (
            question.key_points if question else [])
        follow_up = next((f for f in follow_ups if f.point == step.point), None)
        point = next((p for p in points if p.id == step.point), None)
        boundary = f"=====CONVERSATION-{secrets.token_hex(8).upper()}====="
        return {
            **self._format_values(step, context, boundary),
            "boundary": boundary,
            "kind": step.kind,
            "opening": context.opening,
            "timed_out": step.timed_out,
            "new_stage": step.new_stage,
            "stage_title": stage.title if stage else "",
            "stage_summary": stage.summary if stage else "",
            "question": question.prompt if question else "",
            "point": point.text if point else "",
            "suggestion": follow_up.prompt if follow_up else "",
            "recent": [
                {"role": e.role, "text": strip_boundary(_clip(e.text), boundary)} for e in context.recent
            ],
        }


    def _format_values(self, step: Step, context: InterviewContext, boundary: str) -> dict:
        """The stage format's part: the phase, the facts to answer from, what is still missing."""
        phase = None
        if step.phase and step.phase != INVITE and step.stage:
            phase = self.kb.formats.for_stage(step.stage).phase(step.phase)
        sheet = self.kb.sheets.get(step.question_id) if step.question_id else None
        from_company = sheet is None or step.phase == INVITE or step.answering
        facts = self.kb.company.facts if from_company else sheet.facts
        return {
            "phase_title": phase.title if phase else "",
            "phase_prompt": phase.prompt if phase else "",
            "facts": [f"{f.about}: {f.answer}" for f in facts],
            "facts_source": f"the company profile of {self.kb.company.name}" if from_company else "the scenario's fact sheet",
            "missing": context.missing,
            "ask": context.ask or "",
            "answering": step.answering,
            "moving_on": step.moving_on,
            "invite": self.kb.questions[step.question_id].prompt if step.kind == "invite_questions" else "",
            "job_description": strip_boundary(_clip(context.job_description), boundary),
        }


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TURN_CHARS else text[:MAX_TURN_CHARS] + " [...]"
