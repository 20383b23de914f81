"""The knowledge base: tracks, stages, questions and rubrics, loaded from knowledge/ as validated data.

Every model forbids unknown keys so a typo in a YAML file fails `coach knowledge check`
instead of silently dropping a rubric item. Ids (tracks, stages, seniorities) are data too: the
code reads them from the loaded knowledge base, and `_check_references` checks that what one file
names another defines, so a track with its own stages is added in YAML alone.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from coach.matching import QuestionMatcher
from coach.resources import KNOWLEDGE_DIR

if TYPE_CHECKING:  # coach.formats builds on the models below
    from coach.formats import Company, Formats, Sheet


SENIORITIES_FILE = "seniorities.yaml"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Criterion(Strict):
    """Something interviewers look for, on a 1-5 scale described in words."""

    id: str
    name: str
    description: str
    levels: dict[int, str]
    # Words or phrases whose explained presence in an answer shows this criterion.
    signals: list[str] = Field(default_factory=list)
    # Where in the seeds this comes from: "what interviewers look for", "success criteria", ...
    source: str

    @field_validator("levels")
    @classmethod
    def _five_levels(cls, levels: dict[int, str]) -> dict[int, str]:
        if sorted(levels) != [1, 2, 3, 4, 5]:
            raise ValueError("levels must describe exactly the scores 1, 2, 3, 4 and 5")
        return levels


class Mistake(Strict):
    """A common mistake and what it looks like in an answer."""

    id: str
    name: str
    looks_like: str
    # Phrases whose presence shows the mistake (quoted as evidence).
    signs: list[str] = Field(default_factory=list)
    # If the answer mentions none of these terms, the mistake is an omission.
    missing_all: list[str] = Field(default_factory=list)
    source: str


class KeyPoint(Strict):
    id: str
    text: str
    terms: list[str] = Field(min_length=1)


class FollowUp(Strict):
    point: str  # the key point id this follow-up probes
    prompt: str


class CodeTest(Strict):
    """One Python test: call the entry function with `args` (or build the entry class with `args` and
    make `calls`, each [method, [args]]) and compare what comes back with `expected`."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    args: list[Any] = Field(default_factory=list)
    calls: list[tuple[str, list[Any]]] | None = None
    expected: Any
    hidden: bool = False  # not shown before the answer is sent; run on submit


class PythonTask(Strict):
    """A Python task the candidate's browser runs (Pyodide): starter code and tests, plus our own
    reference solution, which a test runs against the tests to prove the data right."""

    language: Literal["python"]
    focus: Literal["algorithmic", "data"]
    entry: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")  # the function or class the tests call
    starter: str
    reference: str
    tests: list[CodeTest] = Field(min_length=2)

    @model_validator(mode="after")
    def _visible_and_hidden_tests(self) -> PythonTask:
        names = [t.name for t in self.tests]
        if len(set(names)) != len(names):
            raise ValueError("test names must be unique")
        if all(t.hidden for t in self.tests) or not any(t.hidden for t in self.tests):
            raise ValueError("a task needs visible example tests and hidden tests")
        return self

    def test_names(self) -> list[str]:
        return [t.name for t in self.tests]


class ResultSet(Strict):
    columns: list[str] = Field(min_length=1)
    rows: list[list[Any]]
    ordered: bool = True  # False: any row order is right


class QueryPlan(Strict):
    """For an optimisation task: the slow query's plan on the seed schema and the plan the reference
    solution reaches (both `EXPLAIN QUERY PLAN` detail lines); the candidate's plan must not scan
    any of `no_full_scan` in full."""

    query: str
    before: list[str] = Field(min_length=1)
    after: list[str] = Field(min_length=1)
    no_full_scan: list[str] = Field(min_length=1)


class SqlTask(Strict):
    """A SQL task the candidate's browser runs (sql.js): a seed schema with data, the result set the
    last query must return and, for optimisation, the query plan before and after."""

    language: Literal["sql"]
    focus: Literal["data"] = "data"
    schema_sql: str  # CREATE TABLE and INSERT statements, run on a fresh database before each run
    starter: str
    reference: str
    expected: ResultSet
    plan: QueryPlan | None = None

    def test_names(self) -> list[str]:
        return ["result-set", *(["no-full-scan"] if self.plan else [])]


RunnableTask = Annotated[PythonTask | SqlTask, Field(discriminator="language")]


class Question(Strict):
    id: str
    stage: str
    # "invite": "What would you like to ask me?" at the end of a stage, never picked as a main question
    kind: Literal["question", "task", "scenario", "invite"] = "question"
    seniority: tuple[str, str] | None = None  # the lowest and highest level it suits; None: every level
    prompt: str
    key_points: list[KeyPoint] = Field(min_length=1)
    follow_ups: list[FollowUp] = Field(default_factory=list)
    criteria: list[str] = Field(min_length=1)
    mistakes: list[str] = Field(default_factory=list)
    source: str
    runnable: RunnableTask | None = None  # coding tasks whose code the candidate can run in the browser

    @model_validator(mode="after")
    def _follow_ups_probe_known_points(self) -> Question:
        point_ids = {p.id for p in self.key_points}
        for follow_up in self.follow_ups:
            if follow_up.point not in point_ids:
                raise ValueError(f"follow_up probes unknown key point {follow_up.point!r}")
        if self.runnable is not None and self.kind != "task":
            raise ValueError("only tasks can be runnable")
        return self


class ModelAnswer(Strict):
    """A strong reference answer to one question, task or scenario, in our own words."""

    question: str  # the question id
    answer: str = Field(min_length=200)


class SynonymGroup(Strict):
    """Terms that ask for the same thing in a question; matching folds them to the first."""

    terms: list[str] = Field(min_length=2)


class Tip(Strict):
    id: str
    text: str


class StageRubric(Strict):
    criteria: list[str] = Field(min_length=1)
    mistakes: list[str] = Field(default_factory=list)


class Stage(Strict):
    id: str
    title: str
    minutes: int = Field(gt=0)
    summary: str
    focus: list[str] = Field(min_length=1)
    participants: list[str] = Field(min_length=1)
    success_criteria: list[str] = Field(min_length=1)  # criterion ids
    preparation_tips: list[Tip] = Field(min_length=1)
    success_rate: float | None = Field(default=None, ge=0, le=1)
    questions_per_level: dict[str, int]  # seniority id -> main questions
    greeting: str  # how the offline interviewer opens this stage
    generic_rubric: StageRubric


class Seniority(Strict):
    """A seniority level; knowledge/seniorities.yaml lists them lowest first."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: str


class SeniorityLevel(Strict):
    """A seniority level as one track interviews for it."""

    id: str  # a Seniority id
    title: str
    success_rate: float | None = Field(default=None, ge=0, le=1)


class Track(Strict):
    id: str
    title: str
    default: bool = False  # the track used when none is named: exactly one track is the default
    summary: str
    average_process: str
    overall_success_rate: float | None = Field(default=None, ge=0, le=1)
    seniorities: list[SeniorityLevel] = Field(min_length=1)
    default_seniority: str
    stages: list[Stage] = Field(min_length=1)
    default_stages: list[str] = Field(min_length=1)

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise KeyError(stage_id)


class Rubric(Strict):
    """What one answer is graded against, resolved from ids to full items."""

    stage: str
    question_id: str | None
    criteria: list[Criterion]
    mistakes: list[Mistake]
    key_points: list[KeyPoint]
    model_answer: str | None = None  # what a strong answer covers; None for a generic rubric

    @cached_property
    def version(self) -> str:
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


class KnowledgeError(Exception):
    """A knowledge file is invalid; the message names the file and the field."""


class KnowledgeBase:
    def __init__(
        self,
        tracks: list[Track],
        questions: list[Question],
        criteria: list[Criterion],
        mistakes: list[Mistake],
        synonyms: list[SynonymGroup] | None = None,
        model_answers: dict[str, str] | None = None,
        *,
        seniorities: list[Seniority],
    ):
        self.seniorities = {s.id: s for s in seniorities}  # lowest first
        self._rank = {s.id: rank for rank, s in enumerate(seniorities)}
        self.tracks = {t.id: t for t in tracks}
        self.questions = {q.id: q for q in questions}
        self.criteria = {c.id: c for c in criteria}
        self.mistakes = {m.id: m for m in mistakes}
        # Stage formats, fact sheets and the company profile (coach.formats), set by load_knowledge.
        self.formats: Formats = None  # load_knowledge always sets it
        self.sheets: dict[str, Sheet] = {}
        self.company: Company = None
        self.synonyms = list(synonyms or [])
        self.model_answers = dict(model_answers or {})  # question id -> reference answer
        # Rubrics by question id, generic ones by stage: derived from the knowledge base only,
        # which does not change while serving, so each is built once.
        self._rubrics: dict[str, Rubric] = {}
        self._generic_rubrics: dict[str, Rubric] = {}

    def track(self, track_id: str) -> Track:
        return self.tracks[track_id]

    @property
    def default_track(self) -> Track:
        """The track a session runs on when none is named (`default: true`; load_knowledge checks there is one)."""
        return next(t for t in self.tracks.values() if t.default)

    def fits(self, question: Question, seniority: str) -> bool:
        """Whether the question suits this level: within its range of seniorities, lowest first."""
        if question.seniority is None:
            return True
        low, high = (self._rank[s] for s in question.seniority)
        return low <= self._rank[seniority] <= high

    def questions_for(self, stage_id: str, seniority: str) -> list[Question]:
        return [
            q for q in self.questions.values()
            if q.stage == stage_id and self.fits(q, seniority) and q.kind != "invite"
        ]

    def rubric_for(self, question: Question) -> Rubric:
        return Rubric(
            stage=question.stage,
            question_id=question.id,
            criteria=[self.criteria[c] for c in question.criteria],
            mistakes=[self.mistakes[m] for m in question.mistakes],
            key_points=list(question.key_points),
            model_answer=self.model_answers.get(question.id),
        )

    def generic_rubric(self, stage: Stage) -> Rubric:
        return Rubric(
            stage=stage.id,
            question_id=None,
            criteria=[self.criteria[c] for c in stage.generic_rubric.criteria],
            mistakes=[self.mistakes[m] for m in stage.generic_rubric.mistakes],
            key_points=[],
        )

    def stage(self, stage_id: str) -> Stage:
        for track in self.tracks.values():
            try:
                return track.stage(stage_id)
            except KeyError:
                continue
        raise KeyError(stage_id)

    @cached_property
    def matcher(self) -> QuestionMatcher:
        # Invite questions ("what would you like to ask me?") are asked by the engine with their id; matched by
        # text they would shadow the stage's own question of the same kind, so only asked questions compete.
        asked = [q for q in self.questions.values() if q.kind != "invite"]
        return QuestionMatcher(asked, [g.terms for g in self.synonyms])

    def match_question(self, text: str, stage_id: str | None = None) -> Question | None:
        """The knowledge-base question that asks what `text` asks, in other words or the same; None if none does."""
        wording = " ".join(text.split()).casefold()
        for question in self.questions.values():  # its own wording, invite questions included
            if (stage_id is None or question.stage == stage_id) and " ".join(question.prompt.split()).casefold() == wording:
                return question
        found = self.matcher.match(text, stage_id).question_id
        return self.questions[found] if found else None

    def rubric_for_answer(
        self, *, stage: str, question_id: str | None, question_text: str
    ) -> tuple[Question | None, Rubric]:
        """The question an answer was given to (by id, else by matching its text) and the rubric it is
        graded against: the question's own, or the stage's generic one. Raises KeyError for an unknown stage."""
        question = self.questions.get(question_id) if question_id else None
        if question is None:
            question = self.match_question(question_text, stage)
        if question is not None:
            if question.id not in self._rubrics:
                self._rubrics[question.id] = self.rubric_for(question)
            return question, self._rubrics[question.id]
        if stage not in self._generic_rubrics:
            self._generic_rubrics[stage] = self.generic_rubric(self.stage(stage))
        return None, self._generic_rubrics[stage]

    def counts(self) -> dict[str, int]:
        stages = [s for t in self.tracks.values() for s in t.stages]
        return {
            "tracks": len(self.tracks),
            "stages": len(stages),
            "questions": len(self.questions),
            "criteria": len(self.criteria),
            "mistakes": len(self.mistakes),
            "tips": sum(len(s.preparation_tips) for s in stages),
            "runnable tasks": sum(1 for q in self.questions.values() if q.runnable),
        }


def _read(path: Path, model: type[BaseModel], key: str) -> list:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or key not in data or set(data) != {key}:
        raise KnowledgeError(f"{path}: expected a single top-level key {key!r}")
    items = []
    for index, raw in enumerate(data[key] or []):
        try:
            items.append(model.model_validate(raw))
        except ValidationError as exc:
            where = raw.get("id", index) if isinstance(raw, dict) else index
            fields = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise KnowledgeError(f"{path}: {key}[{where}]: {fields}") from exc
    return items


def _check_references(kb: KnowledgeBase) -> None:
    """Everything one file names is defined in another; raises KnowledgeError listing every gap."""
    problems = _seniority_problems(kb)
    if problems:  # the checks below rank questions by level
        raise KnowledgeError("\n".join(problems))
    defaults = [t.id for t in kb.tracks.values() if t.default]
    if len(defaults) != 1:
        problems.append(f"tracks: exactly one track needs `default: true`, found {defaults or 'none'}")
    for track in kb.tracks.values():
        problems += _track_problems(kb, track)
        for stage in track.stages:
            problems += _stage_problems(kb, track, stage)
    for what, items in (("criterion", kb.criteria.values()), ("mistake", kb.mistakes.values())):
        names = [item.name for item in items]
        # Reports and insights label charts by name: two items with one name would merge.
        problems += [f"{what} name {name!r} is used twice" for name in sorted(set(names)) if names.count(name) > 1]
    stage_ids = {s.id for t in kb.tracks.values() for s in t.stages}
    for question in kb.questions.values():
        if question.stage not in stage_ids:
            problems.append(f"question {question.id}: unknown stage {question.stage!r}")
        problems += [f"question {question.id}: unknown criterion {c!r}" for c in question.criteria if c not in kb.criteria]
        problems += [f"question {question.id}: unknown mistake {m!r}" for m in question.mistakes if m not in kb.mistakes]
    if problems:
        raise KnowledgeError("\n".join(problems))


def _seniority_problems(kb: KnowledgeBase) -> list[str]:
    """Question ranges name known levels, lowest first."""
    problems = []
    for question in kb.questions.values():
        unknown = [s for s in question.seniority or () if s not in kb.seniorities]
        if unknown:
            problems.append(f"question {question.id}: unknown seniority {unknown[0]!r}; known: {', '.join(kb.seniorities)}")
        elif question.seniority and kb._rank[question.seniority[0]] > kb._rank[question.seniority[1]]:
            problems.append(f"question {question.id}: seniority range must go from lower to higher")
    return problems


def _track_problems(kb: KnowledgeBase, track: Track) -> list[str]:
    levels = [s.id for s in track.seniorities]
    stage_ids = [s.id for s in track.stages]
    problems = [f"track {track.id}: unknown seniority {s!r}; known: {', '.join(kb.seniorities)}"
                for s in levels if s not in kb.seniorities]
    problems += [f"track {track.id}: {what} {item!r} is listed twice"
                 for what, items in (("seniority", levels), ("stage", stage_ids))
                 for item in sorted(set(items)) if items.count(item) > 1]
    if track.default_seniority not in levels:
        problems.append(f"track {track.id}: default_seniority {track.default_seniority!r} is not one of its seniorities")
    problems += [f"track {track.id}: default stage {s!r} is not one of its stages"
                 for s in track.default_stages if s not in stage_ids]
    return problems


def _stage_problems(kb: KnowledgeBase, track: Track, stage: Stage) -> list[str]:
    """The stage's rubric items exist, and every level the track offers has the questions the stage asks."""
    refs = [*stage.success_criteria, *stage.generic_rubric.criteria]
    problems = [f"stage {stage.id}: unknown criterion {c!r}" for c in refs if c not in kb.criteria]
    problems += [f"stage {stage.id}: unknown mistake {m!r}" for m in stage.generic_rubric.mistakes if m not in kb.mistakes]
    levels = [s.id for s in track.seniorities if s.id in kb.seniorities]
    problems += [f"stage {stage.id}: questions_per_level names {level!r}, not a seniority of track {track.id}"
                 for level in stage.questions_per_level if level not in levels]
    for level in levels:
        available = len(kb.questions_for(stage.id, level))
        wanted = stage.questions_per_level.get(level, 0)
        if not available:
            problems.append(f"stage {stage.id}: no question fits {level} (track {track.id})")
        elif wanted > available:
            problems.append(f"stage {stage.id}: questions_per_level.{level} wants {wanted}, only {available} fit")
    return problems


def _unique(items: list, what: str, path: Path) -> list:
    seen = set()
    for item in items:
        if item.id in seen:
            raise KnowledgeError(f"{path}: duplicate {what} id {item.id!r}")
        seen.add(item.id)
    return items


def load_knowledge(root: Path = KNOWLEDGE_DIR) -> KnowledgeBase:
    """Load and cross-check every file under knowledge/; raise KnowledgeError naming file and field."""
    tracks, questions = [], []
    for path in sorted((root / "tracks").glob("*.yaml")):
        tracks += _read(path, Track, "tracks")
    for path in sorted((root / "questions").glob("*.yaml")):
        questions += _read(path, Question, "questions")
    seniorities = _unique(_read(root / SENIORITIES_FILE, Seniority, "seniorities"), "seniority", root / SENIORITIES_FILE)
    criteria = _unique(_read(root / "criteria.yaml", Criterion, "criteria"), "criterion", root / "criteria.yaml")
    mistakes = _unique(_read(root / "mistakes.yaml", Mistake, "mistakes"), "mistake", root / "mistakes.yaml")
    _unique(questions, "question", root / "questions")
    synonyms = _read(root / "synonyms.yaml", SynonymGroup, "synonyms") if (root / "synonyms.yaml").exists() else []
    model_answers = _model_answers(root / MODEL_ANSWERS, questions)
    kb = KnowledgeBase(tracks, questions, criteria, mistakes, synonyms, model_answers, seniorities=seniorities)
    from coach.formats import check_formats, load_formats  # formats build on the models above

    kb.formats, kb.sheets, kb.company = load_formats(root)
    _check_references(kb)
    problems = check_formats(kb)
    if problems:
        raise KnowledgeError("\n".join(problems))
    return kb


MODEL_ANSWERS = "model_answers"


def _model_answers(directory: Path, questions: list[Question]) -> dict[str, str]:
    """Reference answers by question id: one for every question, none for an unknown id.

    They live in their own files (knowledge/model_answers/<stage>.yaml), so adding a question
    and writing its reference answer never edit the same lines as someone else's change."""
    answers: dict[str, str] = {}
    stages = {q.id: q.stage for q in questions}
    problems = []
    for path in sorted(directory.glob("*.yaml")):
        for item in _read(path, ModelAnswer, "model_answers"):
            if item.question not in stages:
                problems.append(f"{path}: model answer for unknown question {item.question!r}")
            elif item.question in answers:
                problems.append(f"{path}: second model answer for question {item.question!r}")
            answers[item.question] = item.answer.strip()
    problems += [
        f"question {qid}: no model answer; add one to {directory}/{stage}.yaml "
        f"(- question: {qid}, answer: a strong reference answer in your own words)"
        for qid, stage in stages.items() if qid not in answers
    ]
    if problems:
        raise KnowledgeError("\n".join(problems))
    return answers
