"""The LLM judge: one structured call per answer, then our own checks on everything it said.

The model writes each criterion's reasoning before its score, quotes its evidence and names
the rubric's mistakes. We keep only what we can verify: quotes found verbatim in the answer,
mistakes from the rubric, scores in range. A criterion left without evidence is "insufficient
evidence", never a number we made up. An answer that instructs the grader is flagged and capped
whatever the model said. When the model cannot give valid output (no json_schema support,
malformed replies past the re-asks, an outage), it raises ScorerFailed; the scorer wired around it
(coach.scoring.FallbackScorer) then grades offline and says so.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from coach import llm, prompts
from coach.config import Settings
from coach.knowledge import Criterion, Rubric
from coach.prompts import strip_boundary
from coach.scoring import CriterionScore, Grade, GradingItem, MistakeFound, ScorerFailed, capped, overall_score
from coach.scoring.injection import Finding, findings, injection_evidence
from coach.scoring.test_results import graded_text, results_for_judge
from coach.scoring.text import words

log = logging.getLogger(__name__)

SYSTEM_TEMPLATE = "judge_system.j2"
USER_TEMPLATE = "judge_user.j2"
INSUFFICIENT = "insufficient evidence"
MAX_QUOTES = 3
MIN_QUOTE_WORDS = 2


# --- what the model must return (field order matters: reasoning before score) ------------


class CriterionVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criterion_id: str
    reasoning: str = Field(description="Why the answer meets this criterion to the level you give, before scoring.")
    evidence: list[str] = Field(description="Sentences copied word for word from the answer.")
    score: Literal[1, 2, 3, 4, 5]
    feedback: str = Field(description="One or two sentences to the candidate.")


class MistakeVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mistake_id: str
    evidence: list[str]


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criteria: list[CriterionVerdict]
    mistakes: list[MistakeVerdict]
    missed_key_points: list[str]
    instructions_in_answer: list[str] = Field(description="Passages of the answer addressed to the grader.")
    tip: str


VERDICT_SCHEMA = Verdict.model_json_schema()
# What to ask for, best first. A server that rejects one (HTTP 400 naming response_format) gets
# the next from then on; LM Studio, for one, takes json_schema but refuses json_object.
FORMATS: dict[str, dict | None] = {
    "json_schema": {"type": "json_schema", "json_schema": {"name": "verdict", "strict": True, "schema": VERDICT_SCHEMA}},
    "json_object": {"type": "json_object"},
    "prompt_only": None,  # no response_format at all: the schema in the prompt is all there is
}
MODES = list(FORMATS)
PROMPT_VERSION = prompts.version(SYSTEM_TEMPLATE, USER_TEMPLATE, extra=json.dumps(VERDICT_SCHEMA, sort_keys=True))


class InvalidVerdict(ValueError):
    """The model's reply is not a verdict we can use."""


@dataclass
class _Tally:
    """What one grade cost, over every call it took."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    retries: int = 0
    model: str | None = None

    def add(self, result: llm.LLMResult) -> None:
        self.prompt_tokens = _plus(self.prompt_tokens, result.prompt_tokens)
        self.completion_tokens = _plus(self.completion_tokens, result.completion_tokens)
        self.retries += result.retries
        self.model = result.model


class LLMJudge:
    name = "llm"

    def __init__(self, client, settings: Settings):
        self.client = client
        self.model = settings.effective_judge_model
        self.sampling = llm.Sampling.from_settings(settings)
        self.policy = llm.RetryPolicy.from_settings(settings)
        self.reasks = max(0, settings.judge_reasks)
        # Moves down MODES for good when the server rejects a response_format.
        self.mode: str = settings.judge_response_format

    def grade(self, item: GradingItem) -> Grade:
        started, tally = time.perf_counter(), _Tally()
        try:
            verdict = self._verdict(item, tally)
        except llm.LLMError as exc:
            tally.retries += exc.retries
            raise ScorerFailed(f"the LLM failed: {exc}", self._costs(tally, started)) from exc
        except InvalidVerdict as exc:
            raise ScorerFailed(f"invalid output after {self.reasks} re-asks: {exc}", self._costs(tally, started)) from exc
        grade = verdict_to_grade(item, verdict)
        return grade.model_copy(update=self._costs(tally, started))

    def _verdict(self, item: GradingItem, tally: _Tally) -> Verdict:
        mode, reasks = self.mode, self.reasks
        messages = judge_messages(item, schema_in_prompt=mode != "json_schema")
        while True:
            try:
                result = self._call(messages, mode)
            except llm.LLMError as exc:
                if not (rejects_response_format(exc) and mode != MODES[-1]):
                    raise
                log.info("the server rejects response_format %s; trying the next: %s", mode, exc)
                tally.retries += exc.retries
                if mode == self.mode:  # remembered only for what the server refuses outright
                    self.mode = _next_mode(mode)
                mode = _next_mode(mode)
                messages = judge_messages(item, schema_in_prompt=True)
                continue
            tally.add(result)
            try:
                return parse_verdict(result.text, item.rubric)
            except InvalidVerdict as exc:
                if reasks == 0:
                    raise
                reasks -= 1
                if mode == "json_schema":  # a server that ignores the schema: put it in the prompt too
                    mode = "json_object"
                    messages = judge_messages(item, schema_in_prompt=True)
                messages = [*messages, *reask_messages(result.text, exc)]

    def _call(self, messages: list[dict], mode: str) -> llm.LLMResult:
        return llm.chat(
            self.client, model=self.model, messages=messages, sampling=self.sampling, policy=self.policy,
            response_format=FORMATS[mode],
        )

    def _costs(self, tally: _Tally, started: float) -> dict:
        return {
            "model": tally.model or self.model,
            "prompt_version": PROMPT_VERSION,
            "prompt_tokens": tally.prompt_tokens,
            "completion_tokens": tally.completion_tokens,
            "retries": tally.retries,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        }


# --- the prompt ------------------------------------------------------------------------------


def judge_messages(item: GradingItem, *, schema_in_prompt: bool, boundary: str | None = None) -> list[dict]:
    """System prompt (stable) first, then the rubric, then the answer between nonce markers."""
    boundary = boundary or secrets.token_hex(12).upper()
    schema = json.dumps(VERDICT_SCHEMA, separators=(",", ":")) if schema_in_prompt else ""
    user = prompts.render(
        USER_TEMPLATE, stage=item.stage, seniority=item.seniority, question=item.question_text,
        criteria=item.rubric.criteria, mistakes=item.rubric.mistakes, key_points=item.rubric.key_points,
        model_answer=item.rubric.model_answer, boundary=boundary, answer=strip_boundary(item.answer, boundary),
        suspicious=[_suspicious_passage(f, boundary) for f in findings(item.answer)],
        test_results=strip_boundary(results_for_judge(item.run), boundary),
    )
    return [
        {"role": "system", "content": prompts.render(SYSTEM_TEMPLATE, schema=schema)},
        {"role": "user", "content": user},
    ]


def _suspicious_passage(finding: Finding, boundary: str) -> dict:
    """A passage our detectors flagged, as data for the prompt (never able to close its block)."""
    decoded = strip_boundary(finding.decoded, boundary)[:500] if finding.decoded else None
    return {"kind": finding.detector, "quote": strip_boundary(finding.quote, boundary), "decoded": decoded}


def reask_messages(reply: str, error: Exception) -> list[dict]:
    return [
        {"role": "assistant", "content": reply[:4000]},
        {"role": "user", "content": (
            f"That reply was not valid: {str(error)[:500]}. Reply again with only the JSON object, "
            "matching the schema, grading every criterion listed."
        )},
    ]


def rejects_response_format(exc: llm.LLMError) -> bool:
    """A server that refuses the `response_format` asked for (HTTP 400 naming it)."""
    text = str(exc).lower()
    return exc.status in (400, 422) and any(word in text for word in ("response_format", "json_schema", "json_object"))


def _next_mode(mode: str) -> str:
    return MODES[MODES.index(mode) + 1]


# --- reading and checking the verdict ------------------------------------------------------


def parse_verdict(text: str, rubric: Rubric) -> Verdict:
    cleaned = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", text or "")
    try:
        verdict = Verdict.model_validate_json(cleaned)
    except ValidationError as exc:
        raise InvalidVerdict(_short(exc)) from exc
    graded = {v.criterion_id for v in verdict.criteria} & {c.id for c in rubric.criteria}
    if not graded:
        raise InvalidVerdict("no criterion of the rubric was graded")
    return verdict


def verdict_to_grade(item: GradingItem, verdict: Verdict) -> Grade:
    """A Grade from the model's verdict, keeping only what holds up against the answer and rubric."""
    rubric, answer = item.rubric, graded_text(item.answer, item.run)  # quotes may cite the test run's summary
    by_id = {v.criterion_id: v for v in verdict.criteria}
    mistakes = _mistakes(verdict, rubric, answer)
    flags = ["prompt_injection"] if injection_evidence(answer) or verified(verdict.instructions_in_answer, answer) else []
    criteria = capped([_criterion(c, by_id.get(c.id), answer) for c in rubric.criteria], flags)
    point_ids = {p.id for p in rubric.key_points}
    missed = [p for p in dict.fromkeys(verdict.missed_key_points) if p in point_ids]
    return Grade(
        overall=overall_score(criteria, mistakes, flags),
        criteria=criteria,
        mistakes=mistakes,
        flags=flags,
        tip=verdict.tip.strip()[:600] or _tip(rubric, missed),
        missed_points=missed,
        scorer="llm",
        rubric_version=rubric.version,
    )


def verified(quotes: list[str], answer: str) -> list[str]:
    """The quotes found verbatim in the answer (surrounding spaces and quote marks aside)."""
    kept = []
    for quote in quotes:
        text = quote.strip().strip("\"'\u201c\u201d\u2018\u2019").strip()
        if len(words(text)) >= MIN_QUOTE_WORDS and text in answer and text not in kept:
            kept.append(text)
    return kept[:MAX_QUOTES]


def _criterion(criterion: Criterion, verdict: CriterionVerdict | None, answer: str) -> CriterionScore:
    evidence = verified(verdict.evidence, answer) if verdict else []
    if not evidence:
        return CriterionScore(id=criterion.id, name=criterion.name, score=None, evidence=[], feedback=INSUFFICIENT)
    return CriterionScore(
        id=criterion.id, name=criterion.name, score=verdict.score, evidence=evidence,
        feedback=verdict.feedback.strip()[:600] or criterion.levels[verdict.score],
    )


def _mistakes(verdict: Verdict, rubric: Rubric, answer: str) -> list[MistakeFound]:
    known = {m.id: m for m in rubric.mistakes}
    found: dict[str, MistakeFound] = {}
    for claim in verdict.mistakes:
        mistake = known.get(claim.mistake_id)
        if mistake is not None and mistake.id not in found:
            found[mistake.id] = MistakeFound(id=mistake.id, name=mistake.name, evidence=verified(claim.evidence, answer))
    return list(found.values())


def _tip(rubric: Rubric, missed: list[str]) -> str:
    points = {p.id: p for p in rubric.key_points}
    return f"Cover this next time: {points[missed[0]].text}" if missed else ""


def _short(exc: ValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
    where = ".".join(str(p) for p in first["loc"]) or "reply"
    return f"{where}: {first['msg']} ({exc.error_count()} problem(s))"


def _plus(total: int | None, more: int | None) -> int | None:
    return more if total is None else total + (more or 0)
