"""Who speaks for the interviewer: the words around each step the engine decides.

The engine owns the plan; an interviewer only phrases it. The offline interviewer speaks from
the knowledge base; the LLM interviewer (coach.llm_interviewer) writes its own words and
falls back to this one when the model is unreachable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from pydantic import BaseModel, Field

from coach.engine import Step
from coach.knowledge import KnowledgeBase


class Exchange(BaseModel):
    role: str  # "interviewer" | "candidate"
    text: str


class InterviewContext(BaseModel):
    track: str
    seniority: str
    opening: bool = False  # the very first message of the session
    recent: list[Exchange] = Field(default_factory=list)  # the last few turns, oldest first


class Interviewer(Protocol):
    name: str

    def reply(self, step: Step, context: InterviewContext) -> Iterator[str]:
        """The interviewer's message for this step, in chunks as they become available."""
        ...


class OfflineInterviewer:
    name = "offline"

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb

    def reply(self, step: Step, context: InterviewContext) -> Iterator[str]:
        yield self.text(step, context)

    def text(self, step: Step, context: InterviewContext) -> str:
        track = self.kb.track(context.track)
        if step.kind == "close":
            return self._close(step)
        question = self.kb.questions[step.question_id]
        if step.kind == "follow_up":
            follow_up = next(f for f in question.follow_ups if f.point == step.point)
            return f"Thanks. {follow_up.prompt}"
        parts = []
        if context.opening:
            parts.append(
                f"Hello, and welcome to your mock {track.title} interview at {context.seniority} level. "
                "I'll take you through each stage in turn; answer as you would in the real thing."
            )
        if step.timed_out:
            parts.append("We're out of time for that stage, so let's move on.")
        if step.new_stage:
            parts.append(track.stage(step.stage).greeting)
        elif not context.opening:
            parts.append("Next question.")
        parts.append(question.prompt)
        return "\n\n".join(parts)

    @staticmethod
    def _close(step: Step) -> str:
        lead = "We're out of time. " if step.timed_out else ""
        return (
            f"{lead}That's the end of the interview. Thank you for your answers; "
            "your report with scores and advice is ready."
        )
