"""The knowledge base: what the backend-developer track contains and where each seed fact lives.

These tests read like a table of contents for knowledge/. The seed-coverage lists at the
bottom name every "what interviewers look for", "common mistakes", "key points to mention",
"success criteria" and "evaluation criteria" item of the three seed pages, and the id of
the criterion, mistake or key point that stands for it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from coach.knowledge import KNOWLEDGE_DIR, KnowledgeError, load_knowledge

TRACK = "backend-developer"
# The seeds' loop, in interview order, and their seniority levels, lowest first.
STAGE_IDS = ("phone_screen", "technical", "coding", "system_design", "architecture_deep_dive", "behavioral", "final")
SENIORITIES = ("junior", "middle", "senior", "lead")
STAR = ("star-situation", "star-task", "star-action", "star-result")


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge()


@pytest.fixture(scope="module")
def track(knowledge):
    return knowledge.track(TRACK)


# ---------------------------------------------------------------- the track


def test_the_track_has_the_seven_stages_in_interview_order(track):
    assert [stage.id for stage in track.stages] == list(STAGE_IDS)


def test_the_track_has_the_four_seniority_levels(track):
    assert [level.id for level in track.seniorities] == list(SENIORITIES)


def test_the_seniority_levels_are_listed_once_lowest_first(knowledge):
    assert list(knowledge.seniorities) == list(SENIORITIES)


def test_the_backend_track_is_the_default_at_middle_level(knowledge):
    assert knowledge.default_track.id == TRACK
    assert knowledge.default_track.default_seniority == "middle"


def test_the_process_takes_three_to_four_weeks_and_seventy_percent_succeed(track):
    assert "3-4 weeks" in track.average_process
    assert track.overall_success_rate == pytest.approx(0.70)


def test_stage_lengths_follow_the_seeds(track):
    minutes = {stage.id: stage.minutes for stage in track.stages}
    assert minutes == {
        "phone_screen": 45,
        "technical": 60,
        "coding": 60,
        "system_design": 75,
        "architecture_deep_dive": 45,
        "behavioral": 30,
        "final": 30,
    }


def test_every_stage_describes_focus_participants_criteria_tips_and_a_greeting(track, knowledge):
    for stage in track.stages:
        assert stage.minutes > 0, stage.id
        assert stage.focus, stage.id
        assert stage.participants, stage.id
        assert stage.success_criteria, stage.id
        assert all(c in knowledge.criteria for c in stage.success_criteria), stage.id
        assert stage.preparation_tips, stage.id
        assert stage.greeting.strip(), stage.id
        assert stage.generic_rubric.criteria, stage.id


def test_seed_participants_are_named(track):
    assert {"Technical Lead", "Senior Developer"} <= set(track.stage("technical").participants)
    assert {"Technical Architect", "Senior Engineer"} <= set(track.stage("system_design").participants)
    assert "Recruiter" in track.stage("phone_screen").participants
    assert "Senior Architect" in track.stage("architecture_deep_dive").participants
    assert "Hiring Manager" in track.stage("final").participants


def test_preparation_tip_ids_are_unique_across_stages(track):
    ids = [tip.id for stage in track.stages for tip in stage.preparation_tips]
    assert len(ids) == len(set(ids))


def test_stage_success_rates_are_given_exactly_where_the_seeds_give_them(track):
    rates = {stage.id: stage.success_rate for stage in track.stages}
    assert rates == {
        "phone_screen": pytest.approx(0.80),  # HR interview
        "technical": pytest.approx(0.75),
        "coding": pytest.approx(0.65),  # coding challenge
        "system_design": pytest.approx(0.70),
        "architecture_deep_dive": None,
        "behavioral": None,
        "final": pytest.approx(0.85),
    }


def test_seniority_success_rates_are_given_exactly_where_the_seeds_give_them(track):
    rates = {level.id: level.success_rate for level in track.seniorities}
    assert rates == {
        "junior": pytest.approx(0.50),
        "middle": pytest.approx(0.70),
        "senior": pytest.approx(0.80),
        "lead": None,
    }


# ---------------------------------------------------------------- the questions


def test_there_are_at_least_twenty_technical_questions(knowledge):
    technical = [q for q in knowledge.questions.values() if q.stage == "technical"]
    assert len(technical) >= 20


def test_the_question_bank_is_a_reasonable_size(knowledge):
    per_stage = {stage: sum(q.stage == stage for q in knowledge.questions.values()) for stage in STAGE_IDS}
    assert all(count >= 3 for count in per_stage.values()), per_stage
    assert per_stage["phone_screen"] >= 6
    assert per_stage["behavioral"] >= 6
    assert len(knowledge.questions) >= 55


def test_every_behavioral_question_is_graded_on_star(knowledge):
    for question in knowledge.questions.values():
        if question.stage == "behavioral":
            assert set(STAR) <= set(question.criteria), question.id


def test_every_stage_can_fill_its_plan_for_every_seniority(track, knowledge):
    for stage in track.stages:
        for level in SENIORITIES:
            wanted = stage.questions_per_level[level]
            assert wanted >= 1, (stage.id, level)
            assert len(knowledge.questions_for(stage.id, level)) >= wanted, (stage.id, level)


def test_questions_have_enough_key_points_and_follow_ups(knowledge):
    for question in knowledge.questions.values():
        assert 3 <= len(question.key_points) <= 6, question.id
        assert 2 <= len(question.follow_ups) <= 4, question.id
        assert 2 <= len(question.mistakes) <= 5, question.id
        for point in question.key_points:
            assert all(term == term.lower() for term in point.terms), (question.id, point.id)


def test_every_mistake_can_be_detected(knowledge):
    for mistake in knowledge.mistakes.values():
        assert mistake.signs or mistake.missing_all, mistake.id


# ---------------------------------------------------------------- seed coverage

# seed 000, "Success Criteria" of each interview stage: (label, criterion id, stage that lists it)
SUCCESS_CRITERIA = [
    ("Clear communication skills", "clear-communication", "phone_screen"),
    ("Relevant background", "relevant-background", "phone_screen"),
    ("Cultural alignment", "cultural-alignment", "phone_screen"),
    ("Realistic expectations", "realistic-expectations", "phone_screen"),
    ("Problem-solving approach", "problem-solving-approach", "technical"),
    ("Code quality", "code-quality", "technical"),
    ("Knowledge of algorithms/data structures", "algorithms-data-structures", "technical"),
    ("Communication skills during coding", "communication-while-coding", "technical"),
    ("Understanding of system design concepts", "system-design-concepts", "system_design"),
    ("Ability to articulate design decisions", "articulating-design-decisions", "system_design"),
    ("Approach to scalability and redundancy", "scalability-and-redundancy", "system_design"),
    ("Knowledge of databases, APIs, etc.", "databases-and-apis-knowledge", "system_design"),
]

# seed 000, "Evaluation Criteria": (label, criterion id, stage or question that uses it)
EVALUATION_CRITERIA = [
    ("Code functionality (coding challenge)", "code-functionality", "coding"),
    ("Adherence to best practices", "best-practices", "coding"),
    ("Code documentation", "code-documentation", "coding"),
    ("Error handling and testing", "error-handling-and-testing", "coding"),
    ("Code functionality (API task)", "code-functionality", "coding-todo-rest-api"),
    ("Adherence to REST principles", "rest-principles", "coding-todo-rest-api"),
    ("Code clarity and organization", "code-clarity-organization", "coding-todo-rest-api"),
    ("Robustness and error handling", "robustness", "coding-todo-rest-api"),
    ("Normalization", "normalization", "coding-ecommerce-schema"),
    ("Appropriate use of data types", "appropriate-data-types", "coding-ecommerce-schema"),
    ("Optimization considerations", "optimization-considerations", "coding-ecommerce-schema"),
    ("Completeness of schema", "schema-completeness", "coding-ecommerce-schema"),
]

# seed 002, "What Interviewers Look For": (label, criterion id, question that uses it or None)
WHAT_INTERVIEWERS_LOOK_FOR = [
    ("Understanding of observability stack components", "observability-stack-knowledge", "sd-observability-platform"),
    ("Ability to balance real-time needs with storage scalability", "realtime-vs-storage-balance", "sd-observability-platform"),
    ("Awareness of distributed systems challenges", "distributed-systems-awareness", "sd-observability-platform"),
    ("Deep understanding of distributed systems", "distributed-systems-depth", "sd-realtime-notifications"),
    ("Ability to balance consistency and scalability", "consistency-vs-scalability", "sd-realtime-notifications"),
    ("Experience with real-time communication protocols", "realtime-protocols", "sd-realtime-notifications"),
    ("Trade-offs between consistency, availability and partition tolerance (CAP)", "cap-trade-offs", None),
    ("Robust, observable system with monitoring, alerting and incident response", "observable-robust-design", None),
    ("Optimizes for cost while maintaining performance and scalability", "cost-aware-design", None),
]

# seeds 000 and 002, "Common Mistakes (to Avoid)": (label, mistake id, question that lists it)
COMMON_MISTAKES = [
    ("Not following RESTful conventions", "not-following-rest-conventions", "coding-todo-rest-api"),
    ("Poor documentation", "poor-documentation", "coding-todo-rest-api"),
    ("Ignoring input sanitation", "ignoring-input-sanitation", "coding-todo-rest-api"),
    ("Hardcoding values", "hardcoding-values", "coding-todo-rest-api"),
    ("Ignoring security aspects of monitoring data", "ignoring-monitoring-data-security", "sd-observability-platform"),
    ("Overlooking cardinality issues in metrics", "overlooking-metric-cardinality", "sd-observability-platform"),
    ("Not addressing alerting and notification mechanisms", "no-alerting", "sd-observability-platform"),
    ("Ignoring message loss/replay scenarios", "ignoring-message-loss", "sd-realtime-notifications"),
    ("Overlooking horizontal scaling requirements", "overlooking-horizontal-scaling", "sd-realtime-notifications"),
    ("Not addressing fault tolerance in the architecture", "no-fault-tolerance", "sd-realtime-notifications"),
    ("Over-engineering without clear business constraints", "over-engineering", "sd-payment-gateway"),
    ("Neglecting idempotency and retry logic in distributed transactions", "neglecting-idempotency-retries", "sd-payment-gateway"),
    ("Underestimating cost of data replication and cross-region traffic", "underestimating-replication-cost", "sd-payment-gateway"),
]

# seed 002, "Key Points to Mention": (label, key point id, question that holds it)
KEY_POINTS_TO_MENTION = [
    ("Instrumentation at all service layers", "instrument-all-layers", "sd-observability-platform"),
    ("Data aggregation patterns (push vs pull models)", "push-vs-pull-aggregation", "sd-observability-platform"),
    ("Trade-offs between real-time analytics and storage costs", "realtime-vs-storage-cost", "sd-observability-platform"),
    ("Real-time processing", "realtime-processing", "sd-realtime-notifications"),
    ("Message queue reliability", "queue-reliability", "sd-realtime-notifications"),
    ("Horizontal scaling strategies", "horizontal-scaling-strategy", "sd-realtime-notifications"),
    ("Latency vs. throughput trade-offs", "latency-vs-throughput", "sd-realtime-notifications"),
]


def _label(item):
    return item[0]


@pytest.mark.parametrize(("label", "criterion", "stage"), SUCCESS_CRITERIA, ids=[_label(i) for i in SUCCESS_CRITERIA])
def test_seed_success_criteria_are_criteria_of_their_stage(knowledge, track, label, criterion, stage):
    assert criterion in knowledge.criteria, label
    assert criterion in track.stage(stage).success_criteria, label


@pytest.mark.parametrize(("label", "criterion", "where"), EVALUATION_CRITERIA, ids=[_label(i) for i in EVALUATION_CRITERIA])
def test_seed_evaluation_criteria_are_criteria(knowledge, track, label, criterion, where):
    assert criterion in knowledge.criteria, label
    if where in STAGE_IDS:
        assert criterion in track.stage(where).success_criteria, label
    else:
        assert criterion in knowledge.questions[where].criteria, label


@pytest.mark.parametrize(
    ("label", "criterion", "question"), WHAT_INTERVIEWERS_LOOK_FOR, ids=[_label(i) for i in WHAT_INTERVIEWERS_LOOK_FOR]
)
def test_seed_what_interviewers_look_for_are_criteria(knowledge, label, criterion, question):
    assert criterion in knowledge.criteria, label
    if question:
        assert criterion in knowledge.questions[question].criteria, label
    else:
        assert any(criterion in q.criteria for q in knowledge.questions.values()), label


@pytest.mark.parametrize(("label", "mistake", "question"), COMMON_MISTAKES, ids=[_label(i) for i in COMMON_MISTAKES])
def test_seed_common_mistakes_are_mistakes(knowledge, label, mistake, question):
    assert mistake in knowledge.mistakes, label
    assert mistake in knowledge.questions[question].mistakes, label


@pytest.mark.parametrize(
    ("label", "point", "question"), KEY_POINTS_TO_MENTION, ids=[_label(i) for i in KEY_POINTS_TO_MENTION]
)
def test_seed_key_points_to_mention_are_key_points(knowledge, label, point, question):
    assert point in {p.id for p in knowledge.questions[question].key_points}, label


def test_general_rubric_criteria_exist(knowledge):
    for criterion in (
        "technical-accuracy",
        "depth-of-reasoning",
        "trade-offs",
        "clear-communication",
        "concrete-examples",
        *STAR,
    ):
        assert criterion in knowledge.criteria


def test_general_grading_mistakes_exist(knowledge):
    for mistake in ("vague-answer-without-specifics", "no-trade-offs-discussed", "blaming-others", "no-measurable-result"):
        assert mistake in knowledge.mistakes


# ---------------------------------------------------------------- strictness


def _copy_knowledge(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, root)
    return root


def _add_bogus_key(path: Path, top_key: str, nested: str | None = None) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    item = data[top_key][0]
    if nested:
        item = item[nested][0]
    item["bogus_key"] = "typo"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    ("relative", "top_key", "nested"),
    [
        ("questions/coding.yaml", "questions", None),
        ("criteria.yaml", "criteria", None),
        ("mistakes.yaml", "mistakes", None),
        ("tracks/backend-developer.yaml", "tracks", "stages"),
    ],
)
def test_an_unknown_key_fails_loading_and_names_the_file_and_field(tmp_path, relative, top_key, nested):
    root = _copy_knowledge(tmp_path)
    _add_bogus_key(root / relative, top_key, nested)
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(root=root)
    message = str(error.value)
    assert Path(relative).name in message
    assert "bogus_key" in message


def test_the_untouched_copy_loads(tmp_path):
    assert load_knowledge(root=_copy_knowledge(tmp_path)).counts()["questions"] >= 55


def test_two_criteria_with_one_name_are_refused(tmp_path):
    import shutil

    from coach.knowledge import KNOWLEDGE_DIR, KnowledgeError, load_knowledge

    root = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, root)
    criteria = root / "criteria.yaml"
    criteria.write_text(criteria.read_text().replace("name: Discusses trade-offs", "name: Technical accuracy", 1))
    with pytest.raises(KnowledgeError, match="used twice"):
        load_knowledge(root)
