"""Who speaks for the interviewer: the words around each step the engine decides.

The engine owns the plan; an interviewer only phrases it. The offline interviewer speaks from
the knowledge base; the LLM interviewer (coach.llm_interviewer) writes its own words, and
FallbackInterviewer wraps it so this one takes over when the model is unreachable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, Field

from coach.engine import INVITE, Step
from coach.formats import matching_facts, phase_follow_ups
from coach.knowledge import KnowledgeBase
from coach.observability import FALLBACKS, LLM_SECONDS

log = logging.getLogger(__name__)


class Exchange(BaseModel):
    role: str  # "interviewer" | "candidate"
    text: str


class InterviewContext(BaseModel):
    track: str
    seniority: str
    opening: bool = False  # the very first message of the session
    recent: list[Exchange] = Field(default_factory=list)  # the last few turns, oldest first
    turn: int = 0  # how many turns the session has: varies the offline interviewer's words
    previous: str = ""  # the interviewer's last message: never repeated sentence for sentence
    ask: str | None = None  # for an answer_question step: "clarify" | "repeat" | "meaning"
    quote: str | None = None  # the candidate's own words for something their last answer covered
    missing: list[str] = Field(default_factory=list)  # what the current question or phase still lacks
    job_description: str = ""
    cv_summary: str = ""

    @property
    def last_candidate_message(self) -> str:
        return next((e.text for e in reversed(self.recent) if e.role == "candidate"), "")


@dataclass(frozen=True)
class Restart:
    """In a reply: the words so far no longer stand; `by` (an interviewer's name) speaks from here on."""

    by: str


class Interviewer(Protocol):
    name: str

    def reply(self, step: Step, context: InterviewContext) -> Iterator[str | Restart]:
        """The interviewer's message for this step, in chunks as they become available."""
        ...


class FallbackInterviewer:
    """Speaks with `primary`; when it fails, even midway, `fallback` says the whole message instead."""

    def __init__(self, primary: Interviewer, fallback: OfflineInterviewer):
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name

    def reply(self, step: Step, context: InterviewContext) -> Iterator[str | Restart]:
        started = time.perf_counter()
        try:
            yield from self.primary.reply(step, context)
        except Exception as exc:  # an LLM outage must never block the candidate
            log.warning("interviewer failed, continuing offline: %s", exc)
            FALLBACKS.labels("reply").inc()
            yield Restart(by=self.fallback.name)  # whatever streamed so far is dropped: the offline words stand alone
            yield self.fallback.text(step, context)
        LLM_SECONDS.labels("interviewer").observe(time.perf_counter() - started)


class OfflineInterviewer:
    name = "offline"

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.voice = kb.formats.voice

    def reply(self, step: Step, context: InterviewContext) -> Iterator[str]:
        yield self.text(step, context)

    def text(self, step: Step, context: InterviewContext) -> str:
        if step.kind == "answer_question":
            return self.answer_question(step, context)
        parts = [self.answer_question(step, context)] if step.answering else []
        if step.moving_on:
            parts.append(self.voice.move_on)
        parts += self._step_words(step, context)
        return "\n\n".join(p for p in parts if p)

    def _step_words(self, step: Step, context: InterviewContext) -> list[str]:
        if step.kind == "close":
            return [self._close(step)]
        if step.kind == "follow_up":
            return [self._acknowledge(context), self._follow_up_prompt(step, step.point)]
        if step.kind == "nudge":
            hint = self._follow_up_prompt(step, step.point) if step.point else self.voice.generic_hint
            return [self._pick(self.voice.nudges, context).format(hint=hint)]
        if step.kind == "phase":
            return [self._acknowledge(context), self._phase(step).prompt]
        if step.kind == "invite_questions":
            return [self._acknowledge(context), self.voice.invite]
        return self._question_words(step, context)

    def _question_words(self, step: Step, context: InterviewContext) -> list[str]:
        track = self.kb.track(context.track)
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
            parts += [self._acknowledge(context), self._pick(self.voice.transitions, context)]
        parts.append(self.kb.questions[step.question_id].prompt)
        if step.phase:
            parts.append(self._phase(step).prompt)
        return parts

    # --- answering the candidate's questions ---------------------------------------------------

    def answer_question(self, step: Step, context: InterviewContext) -> str:
        """The reply to a question the candidate asked: from the fact sheet or the company profile."""
        if context.ask == "repeat":
            return f"{self.voice.repeat_lead} {self.current_prompt(step)}"
        facts, from_company = self._facts_for(step)
        found = matching_facts(context.last_candidate_message, facts)
        if found:
            words = f"{self._pick(self.voice.fact_leads, context)} " + " ".join(f.answer for f in found)
        elif context.ask == "meaning":
            words = f"{self.voice.meaning_lead} {self.current_prompt(step)}"
        else:
            words = self.voice.no_company_fact if from_company else self.voice.no_fact
        if step.kind == "answer_question" and step.phase == INVITE:
            words += f" {self._pick(self.voice.more_questions, context)}"
        return words

    def current_prompt(self, step: Step) -> str:
        question = self.kb.questions[step.question_id]
        return self._phase(step).prompt if step.phase and step.phase != INVITE else question.prompt

    def _facts_for(self, step: Step) -> tuple[list, bool]:
        """The scenario's or task's fact sheet in a phased stage; the company profile everywhere else."""
        sheet = self.kb.sheets.get(step.question_id) if step.question_id and not step.answering else None
        if sheet is not None and step.phase != INVITE:
            return list(sheet.facts), False
        return list(self.kb.company.facts), step.answering or step.phase == INVITE

    # --- words ----------------------------------------------------------------------------------

    def _follow_up_prompt(self, step: Step, point: str | None) -> str:
        if step.phase and step.phase != INVITE:
            follow_ups = phase_follow_ups(self.kb, step.question_id, step.phase)
        else:
            follow_ups = self.kb.questions[step.question_id].follow_ups
        return next((f.prompt for f in follow_ups if f.point == point), self.voice.generic_hint)

    def _phase(self, step: Step):
        return self.kb.formats.for_stage(step.stage).phase(step.phase)

    def _acknowledge(self, context: InterviewContext) -> str:
        """Something specific from the last answer when there is one; never last message's words."""
        if context.quote:
            return self._pick(self.voice.acknowledgements, context).format(quote=context.quote)
        return self._pick(self.voice.plain_acknowledgements, context)

    def _pick(self, options: list[str], context: InterviewContext) -> str:
        """Rotate through the options by turn, skipping any the previous message already used."""
        for offset in range(len(options)):
            option = options[(context.turn + offset) % len(options)]
            if option.split("{")[0].strip() not in context.previous:
                return option
        return options[context.turn % len(options)]

    @staticmethod
    def _close(step: Step) -> str:
        lead = "We're out of time. " if step.timed_out else ""
        return (
            f"{lead}That's the end of the interview. Thank you for your answers; "
            "your report with scores and advice is ready."
        )
