"""Stage formats as data: how each stage is run, how long each length takes, the fact sheets the
interviewer answers from and the company profile, loaded from knowledge/ and validated.

A format is either a question round (several main questions, chained follow-ups) or phased (one
scenario or task walked through its phases, each with its own prompt, key points and criteria).
The engine walks whatever these say; nothing here does I/O beyond loading.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from coach.knowledge import FollowUp, KeyPoint, KnowledgeError, Rubric


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Length(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    default: bool = False  # the length of a session that names none: exactly one is the default
    title: str
    description: str
    time_share: float | None = Field(default=None, gt=0, le=1)  # of each stage's real minutes
    total_minutes: int | None = Field(default=None, gt=0)  # spread over the chosen stages instead
    follow_up_depth: int = Field(ge=0, le=5)
    # A question round asks at least the stage's usual number of main questions (questions_per_level);
    # false: at least one.
    usual_questions: bool = True

    @model_validator(mode="after")
    def _one_way_to_size(self) -> Length:
        if (self.time_share is None) == (self.total_minutes is None):
            raise ValueError("give exactly one of time_share and total_minutes")
        return self


class Phase(Strict):
    id: str
    title: str
    minutes: tuple[int, int]  # the usual range, as the seeds give it
    lengths: list[str] = Field(min_length=1)  # the length ids that include this phase
    prompt: str
    # A phase where questions to the interviewer are the point (requirements, clarify): the
    # candidate's questions count towards its key points.
    clarifying: bool = False
    criteria: list[str] = Field(min_length=1)
    mistakes: list[str] = Field(default_factory=list)  # only those this phase can show
    key_points: list[KeyPoint] = Field(default_factory=list)  # for every scenario of the format
    follow_ups: list[FollowUp] = Field(default_factory=list)


class Format(Strict):
    id: str
    kind: Literal["questions", "phased"]
    stages: list[str] = Field(min_length=1)  # stage ids
    runs_code: bool = False  # its tasks may be runnable in the browser (knowledge.RunnableTask)
    follow_up_depth: dict[str, int] = Field(default_factory=dict)  # length id -> depth, overriding the length's
    phases: list[Phase] = Field(default_factory=list)

    @model_validator(mode="after")
    def _phases_fit_the_kind(self) -> Format:
        if (self.kind == "phased") != bool(self.phases):
            raise ValueError("a phased format needs phases, a question round has none")
        return self

    def depth(self, length: Length) -> int:
        return self.follow_up_depth.get(length.id, length.follow_up_depth)

    def phase(self, phase_id: str) -> Phase:
        return next(p for p in self.phases if p.id == phase_id)


class CandidateQuestions(Strict):
    stages: dict[str, str]  # stage id -> the invite question id that ends it
    limit: dict[str, int]  # length id -> questions the candidate may ask


class NonAnswer(Strict):
    phrases: list[str] = Field(min_length=1)
    min_words_phased: int
    min_words: int


class Voice(Strict):
    """The offline interviewer's own words, varied so it never says the same thing twice in a row."""

    transitions: list[str] = Field(min_length=2)
    acknowledgements: list[str] = Field(min_length=2)  # each with a {quote} from the answer
    plain_acknowledgements: list[str] = Field(min_length=2)
    nudges: list[str] = Field(min_length=2)  # each with a {hint}
    generic_hint: str
    move_on: str
    no_fact: str
    no_company_fact: str
    repeat_lead: str
    meaning_lead: str
    fact_leads: list[str] = Field(min_length=2)
    invite: str
    more_questions: list[str] = Field(min_length=2)
    no_more_questions: str


class Formats(Strict):
    lengths: list[Length]
    minutes_per_question: int = Field(gt=0)
    formats: list[Format]
    candidate_questions: CandidateQuestions
    non_answer: NonAnswer
    voice: Voice

    @model_validator(mode="after")
    def _lengths_named_are_defined(self) -> Formats:
        ids = [length.id for length in self.lengths]
        problems = [f"length {i!r} is listed twice" for i in sorted(set(ids)) if ids.count(i) > 1]
        if sum(length.default for length in self.lengths) != 1:
            problems.append("exactly one length needs `default: true`")
        named = [*self.candidate_questions.limit, *(i for f in self.formats for i in f.follow_up_depth),
                 *(i for f in self.formats for p in f.phases for i in p.lengths)]
        problems += [f"unknown length {i!r}; known: {', '.join(ids)}" for i in dict.fromkeys(named) if i not in ids]
        problems += [f"candidate_questions.limit has no {i!r}" for i in ids if i not in self.candidate_questions.limit]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def length(self, length_id: str) -> Length:
        return next(item for item in self.lengths if item.id == length_id)

    def length_ids(self) -> list[str]:
        return [length.id for length in self.lengths]

    @property
    def default_length(self) -> Length:
        return next(length for length in self.lengths if length.default)

    def for_stage(self, stage_id: str) -> Format:
        return next(f for f in self.formats if stage_id in f.stages)

    def owns(self, stage_id: str) -> bool:
        return any(stage_id in f.stages for f in self.formats)

    def code_stages(self) -> set[str]:
        """The stages whose tasks the candidate may run in the browser's code editor."""
        return {s for f in self.formats if f.runs_code for s in f.stages}


class Fact(Strict):
    about: str  # a short label: "daily users"
    terms: list[str] = Field(min_length=1)  # words in a question this fact answers
    answer: str


class Sheet(Strict):
    """A scenario's or a task's fact sheet, and which of its key points each phase listens for."""

    question: str  # the question id
    facts: list[Fact] = Field(min_length=1)
    phases: dict[str, list[str]]  # phase id -> key point ids of the question


class Company(Strict):
    name: str
    summary: str
    facts: list[Fact] = Field(min_length=1)


class FormatError(KnowledgeError):
    """A format file is invalid; the message names the file and the field."""


def load_formats(root: Path) -> tuple[Formats, dict[str, Sheet], Company]:
    formats = _validated(root / "interview" / "formats.yaml", Formats)
    company = _validated(root / "interview" / "company.yaml", Company, key="company")
    sheets: dict[str, Sheet] = {}
    for path in sorted((root / "sheets").glob("*.yaml")):
        raw = _yaml(path)
        if not isinstance(raw, dict) or set(raw) != {"sheets"}:
            raise FormatError(f"{path}: expected a single top-level key 'sheets'")
        for index, item in enumerate(raw["sheets"] or []):
            sheet = _model(Sheet, item, f"{path}: sheets[{index}]")
            if sheet.question in sheets:
                raise FormatError(f"{path}: a second fact sheet for {sheet.question!r}")
            sheets[sheet.question] = sheet
    return formats, sheets, company


def check_formats(kb) -> list[str]:
    """Problems between the formats, the fact sheets and the questions they name."""
    problems = []
    stage_ids = {s.id for t in kb.tracks.values() for s in t.stages}
    for stage_id in sorted(stage_ids):
        owners = [f.id for f in kb.formats.formats if stage_id in f.stages]
        if len(owners) != 1:
            problems.append(f"stage {stage_id}: needs exactly one format, has {owners or 'none'}")
    problems += [f"format {f.id}: unknown stage {s!r}" for f in kb.formats.formats for s in f.stages if s not in stage_ids]
    for fmt in kb.formats.formats:
        for phase in fmt.phases:
            problems += [f"phase {phase.id}: unknown criterion {c!r}" for c in phase.criteria if c not in kb.criteria]
            problems += [f"phase {phase.id}: unknown mistake {m!r}" for m in phase.mistakes if m not in kb.mistakes]
    for stage_id, invite in kb.formats.candidate_questions.stages.items():
        question = kb.questions.get(invite)
        if question is None or question.kind != "invite" or question.stage != stage_id:
            problems.append(f"candidate_questions: {invite!r} is not an invite question of {stage_id}")
    for question in kb.questions.values():
        if not kb.formats.owns(question.stage):
            continue  # reported above, or as an unknown stage
        fmt = kb.formats.for_stage(question.stage)
        if fmt.kind == "phased" and question.kind != "invite":
            problems += _sheet_problems(question, fmt, kb.sheets.get(question.id))
        if question.runnable and not fmt.runs_code:
            problems.append(f"question {question.id}: runnable, but format {fmt.id} does not run code")
    return problems + _runnable_coverage(kb)


def _runnable_coverage(kb) -> list[str]:
    """Every seniority a track offers gets at least two tasks it can run in each of the track's stages
    that run code, one algorithmic and one on data."""
    problems = []
    for track in kb.tracks.values():
        for stage in track.stages:
            if not (kb.formats.owns(stage.id) and kb.formats.for_stage(stage.id).runs_code):
                continue
            for level in track.seniorities:
                runnable = [q.runnable for q in kb.questions_for(stage.id, level.id) if q.runnable]
                if len(runnable) < 2 or {task.focus for task in runnable} != {"algorithmic", "data"}:
                    problems.append(f"{stage.id}: {level.id} needs two or more runnable tasks, algorithmic and data")
    return problems


def _sheet_problems(question, fmt: Format, sheet: Sheet | None) -> list[str]:
    if sheet is None:
        return [f"question {question.id}: a {fmt.id} needs a fact sheet in knowledge/sheets/"]
    phase_ids = [p.id for p in fmt.phases]
    problems = [f"sheet {sheet.question}: unknown phase {p!r}" for p in sheet.phases if p not in phase_ids]
    mapped = [point for points in sheet.phases.values() for point in points]
    own = [p.id for p in question.key_points]
    problems += [f"sheet {sheet.question}: unknown key point {p!r}" for p in mapped if p not in own]
    problems += [f"sheet {sheet.question}: key point {p!r} is in no phase" for p in own if p not in mapped]
    problems += [f"sheet {sheet.question}: key point {p!r} is in two phases" for p in set(mapped) if mapped.count(p) > 1]
    return problems


# --- answering from facts -------------------------------------------------------------------


def matching_facts(question: str, facts: list[Fact], limit: int = 3) -> list[Fact]:
    """The facts a candidate's question asks about, best match first."""
    text = " " + " ".join(re.findall(r"[a-z0-9/.%-]+", question.lower())) + " "
    scored = []
    for index, fact in enumerate(facts):
        hits = sum(1 for term in fact.terms if _mentions(text, term.lower()))
        if hits:
            scored.append((-hits, index, fact))
    return [fact for *_, fact in sorted(scored)[:limit]]


def phase_rubric(kb, question, phase_id: str) -> Rubric:
    """What one phase of a scenario or task is graded against: the phase's criteria and key points."""
    phase = kb.formats.for_stage(question.stage).phase(phase_id)
    return Rubric(
        stage=question.stage, question_id=question.id,
        criteria=[kb.criteria[c] for c in phase.criteria], mistakes=[kb.mistakes[m] for m in phase.mistakes],
        key_points=phase_key_points(kb, question.id, phase_id) or list(question.key_points),
    )


def covered_points(points: list[KeyPoint], text: str) -> tuple[list[KeyPoint], list[KeyPoint]]:
    """(covered, missed): a point is covered when the whole text, code included, names one of its terms."""
    lowered = text.lower()
    covered: list[KeyPoint] = []
    missed: list[KeyPoint] = []
    for point in points:
        (covered if any(_mentions(lowered, t.lower()) for t in point.terms) else missed).append(point)
    return covered, missed


def first_mention(points: list[KeyPoint], text: str) -> str | None:
    """The candidate's own words for the first covered point: what an interviewer would refer back to."""
    lowered = text.lower()
    for point in points:
        for term in point.terms:
            found = _find_term(lowered, term.lower())
            if found != -1 and re.match(r"[a-z]", term.lower()):
                return _whole_words(text, found)
    return None


def _whole_words(text: str, start: int) -> str:
    """The word at `start` and, if it reads as one phrase, the next word ("idempotent consumers")."""
    words = re.match(r"[A-Za-z][\w-]*(?:[ ][A-Za-z][\w-]*)?", text[start:])
    phrase = words.group(0) if words else text[start:start + 20]
    first, _, second = phrase.partition(" ")
    return phrase if second and second.lower() not in _STOP and len(second) > 3 else first


_STOP = {"with", "that", "this", "then", "from", "into", "because", "which", "when", "where", "would", "will",
         "have", "there", "their", "they", "them", "also", "like", "just", "than", "were", "what", "about"}


def _mentions(text: str, term: str) -> bool:
    return _find_term(text, term) != -1


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _find_term(text: str, term: str) -> int:
    """Where `term` starts as a whole word in lower-cased `text` ("read" must not match "already";
    prefixes are allowed at the end), or -1. A plain find, not a regex: every answer checks every
    point's terms, and a pattern that starts with a look-behind tries every position."""
    start = text.find(term)
    while start > 0 and text[start - 1] in _WORD_CHARS:
        start = text.find(term, start + 1)
    return start


def phase_key_points(kb, question_id: str, phase_id: str) -> list[KeyPoint]:
    """What a phase listens for: the format's own points and the scenario's points for that phase."""
    question = kb.questions[question_id]
    phase = kb.formats.for_stage(question.stage).phase(phase_id)
    sheet = kb.sheets.get(question_id)
    own = set(sheet.phases.get(phase_id, [])) if sheet else set()
    return [*phase.key_points, *(p for p in question.key_points if p.id in own)]


def phase_follow_ups(kb, question_id: str, phase_id: str) -> list[FollowUp]:
    question = kb.questions[question_id]
    phase = kb.formats.for_stage(question.stage).phase(phase_id)
    points = {p.id for p in phase_key_points(kb, question_id, phase_id)}
    return [*phase.follow_ups, *(f for f in question.follow_ups if f.point in points)]


def _yaml(path: Path):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FormatError(f"{path}: not readable YAML: {exc}") from exc


def _validated(path: Path, model: type[BaseModel], key: str | None = None):
    raw = _yaml(path)
    if key is not None:
        if not isinstance(raw, dict) or set(raw) != {key}:
            raise FormatError(f"{path}: expected a single top-level key {key!r}")
        raw = raw[key]
    return _model(model, raw, str(path))


def _model(model: type[BaseModel], raw, where: str):
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        fields = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise FormatError(f"{where}: {fields}") from exc
