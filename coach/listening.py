"""What the interviewer heard in an answer: which key points the whole answer so far covered
(code included), which it missed, whether it was an answer at all, and the candidate's own words
to refer back to. Pure: the service hands it the text, the engine decides what to do with it."""

from __future__ import annotations

from dataclasses import dataclass, field

from coach import asking
from coach.engine import INVITE
from coach.formats import covered_points, first_mention, phase_follow_ups, phase_key_points


@dataclass
class Heard:
    missed: list[str] = field(default_factory=list)  # key point ids, most important first
    follow_up_points: list[str] = field(default_factory=list)  # the points there is a follow-up for
    non_answer: bool = False
    quote: str | None = None  # the candidate's words for a point this message covered
    missing: list[str] = field(default_factory=list)  # the missed points' texts, for the LLM interviewer


def points_for(kb, question, phase: str | None) -> tuple[list, list]:
    """The key points and follow-ups the question, or its current phase, listens for."""
    if phase and phase != INVITE and question.id in kb.sheets:
        return phase_key_points(kb, question.id, phase), phase_follow_ups(kb, question.id, phase)
    return list(question.key_points), list(question.follow_ups)


def clarifying(kb, question, phase: str | None) -> bool:
    """A phase where the candidate's questions count towards its points (requirements, clarify)."""
    if not phase or phase == INVITE or question.id not in kb.sheets:
        return False
    return kb.formats.for_stage(question.stage).phase(phase).clarifying


def listen(kb, question, phase: str | None, *, so_far: str, this: str, grader_missed=None) -> Heard:
    """`so_far`: everything said to this question (and phase), `this` included.

    A point the answer names is never probed, whatever a grader thought: the grader can only
    add to what the term check found covered, never take away from it."""
    points, follow_ups = points_for(kb, question, phase)
    covered, missed = covered_points(points, so_far)
    if grader_missed:
        missed = [p for p in missed if p.id in set(grader_missed)]
    rules = kb.formats.non_answer
    covered_now = covered_points(points, this)[0]
    non_answer = asking.is_non_answer(this, rules.phrases, rules.min_words) or (
        phase is not None and len(this.split()) < rules.min_words_phased and not covered_now
    )
    return Heard(
        missed=[p.id for p in missed], follow_up_points=[f.point for f in follow_ups], non_answer=non_answer,
        quote=first_mention(covered_now, this), missing=[p.text for p in missed],
    )
