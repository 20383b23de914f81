"""In-process fakes of the interviewer and scorer protocols, for tests that need no HTTP.

Each follows its script, keeps what it was asked, and fails on cue as an LLM would. A test that
checks how the service or a fallback treats an interviewer or a scorer uses these; a test of the
LLM adapters themselves talks to respx or the fake server (tests/support/fake_llm.py) instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from coach.engine import Step
from coach.interviewer import InterviewContext
from coach.scoring import CriterionScore, Grade, GradingItem

# One reply: the chunks it streams, in order. An exception among them is raised at that point,
# so ["Good. Now ", LLMError("the stream broke")] is a reply that breaks off midway.
Reply = Sequence[str | Exception]


class ScriptRanOut(AssertionError):
    """The code under test asked for more than the test scripted."""


class ScriptedInterviewer:
    """Says each scripted reply in turn; `asked` keeps every (step, context) it was given."""

    def __init__(self, replies: Sequence[Reply | str], name: str = "llm"):
        self.replies = [[reply] if isinstance(reply, str) else list(reply) for reply in replies]
        self.name = name
        self.asked: list[tuple[Step, InterviewContext]] = []

    def reply(self, step: Step, context: InterviewContext) -> Iterator[str]:
        self.asked.append((step, context))
        if len(self.asked) > len(self.replies):
            raise ScriptRanOut(f"reply {len(self.asked)} asked for ({step.kind}), {len(self.replies)} scripted")
        for chunk in self.replies[len(self.asked) - 1]:
            if isinstance(chunk, Exception):
                raise chunk
            yield chunk


class ScriptedScorer:
    """Gives each scripted overall score in turn (or raises the scripted exception), every criterion
    of the rubric at that level with the answer's first line as its evidence; `items` keeps what it graded."""

    def __init__(self, scores: Sequence[float | Exception], name: str = "llm"):
        self.scores = list(scores)
        self.name = name
        self.items: list[GradingItem] = []

    def grade(self, item: GradingItem) -> Grade:
        self.items.append(item)
        if len(self.items) > len(self.scores):
            raise ScriptRanOut(f"grade {len(self.items)} asked for, {len(self.scores)} scripted")
        score = self.scores[len(self.items) - 1]
        if isinstance(score, Exception):
            raise score
        evidence = [item.answer.strip().splitlines()[0]] if item.answer.strip() else []
        criteria = [
            CriterionScore(id=c.id, name=c.name, score=round(score), evidence=evidence) for c in item.rubric.criteria
        ]
        return Grade(overall=score, criteria=criteria, scorer="llm", rubric_version=item.rubric.version)
