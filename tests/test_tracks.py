"""Tracks, stages and seniorities are data: a track with its own stage is added in YAML alone, and
every place that offers or accepts an id (API, start page, CLI) takes it from the knowledge base."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from coach.api.app import create_app
from coach.engine import PlanError, build_plan
from coach.knowledge import KNOWLEDGE_DIR, KnowledgeError, load_knowledge
from coach.migrations import prepare_database
from coach.store import make_engine
from coach.terminal import run_interview
from coach.wiring import build_service
from tests.support.answers import strong_answer
from tests.support.api import auth
from tests.test_api import run_interview as run_api_interview

TRACK = "data-engineer"
STAGE = "data_modeling"

DATA_MODELING = {
    "id": STAGE,
    "title": "Data Modeling",
    "minutes": 40,
    "summary": "A data engineer designs the tables an analytics team will query and explains the trade-offs.",
    "focus": ["Schema design", "Data types"],
    "participants": ["Senior Data Engineer"],
    "success_criteria": ["normalization", "appropriate-data-types"],
    "preparation_tips": [{"id": "tip-dm-star-schema", "text": "Practise drawing a star schema for a sales dataset."}],
    "questions_per_level": {"middle": 1, "senior": 1},
    "greeting": "Let's model some data together.",
    "generic_rubric": {"criteria": ["technical-accuracy"], "mistakes": ["float-for-money"]},
}
QUESTIONS = [
    {
        "id": "dm-orders-warehouse",
        "stage": STAGE,
        "seniority": ["middle", "senior"],
        "prompt": "How would you model orders and their line items for an analytics warehouse?",
        "key_points": [
            {"id": "fact-table", "text": "A fact table of order lines at the finest grain.", "terms": ["fact table", "grain"]},
            {"id": "dimensions", "text": "Dimension tables for customers, products and dates.", "terms": ["dimension"]},
            {"id": "money-type", "text": "Money in a decimal type, never a float.", "terms": ["decimal", "numeric"]},
        ],
        "follow_ups": [{"point": "money-type", "prompt": "Which type holds the order amount, and why?"}],
        "criteria": ["normalization", "appropriate-data-types"],
        "mistakes": ["float-for-money"],
        "source": "a test's own track",
    },
]
MODEL_ANSWERS = [{
    "question": "dm-orders-warehouse",
    "answer": "I would keep one fact table of order lines at the finest grain, one row per product per order, "
              "with foreign keys to dimension tables for customers, products and dates, so analysts can slice "
              "revenue any way they need. Amounts go in a decimal column, never a float, so totals add up to the cent.",
}]


def _write(path: Path, key: str, items: list) -> None:
    path.write_text(yaml.safe_dump({key: items}, sort_keys=False), encoding="utf-8")


def add_data_engineer_track(root: Path) -> None:
    """A second track, YAML only: its own copy of the phone screen plus a stage no other track has."""
    backend = yaml.safe_load((root / "tracks" / "backend-developer.yaml").read_text(encoding="utf-8"))["tracks"][0]
    track = {
        "id": TRACK, "title": "Data Engineer", "summary": "Pipelines, warehouses and the models behind them.",
        "average_process": "2-3 weeks", "default_seniority": "senior",
        "seniorities": [{"id": "middle", "title": "Middle Data Engineer"}, {"id": "senior", "title": "Senior Data Engineer"}],
        "default_stages": ["phone_screen", STAGE],
        "stages": [backend["stages"][0] | {"questions_per_level": {"middle": 1, "senior": 1}}, DATA_MODELING],
    }
    _write(root / "tracks" / f"{TRACK}.yaml", "tracks", [track])
    _write(root / "questions" / f"{STAGE}.yaml", "questions", QUESTIONS)
    _write(root / "model_answers" / f"{STAGE}.yaml", "model_answers", MODEL_ANSWERS)
    formats = root / "interview" / "formats.yaml"
    text = formats.read_text(encoding="utf-8")
    rounds = "stages: [phone_screen, technical, architecture_deep_dive, final]"
    assert rounds in text
    formats.write_text(text.replace(rounds, rounds[:-1] + f", {STAGE}]"), encoding="utf-8")


@pytest.fixture(scope="module")
def data_kb(tmp_path_factory):
    root = tmp_path_factory.mktemp("kb") / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, root)
    add_data_engineer_track(root)
    return load_knowledge(root)


def test_a_track_with_its_own_stage_loads_from_yaml_alone(data_kb):
    track = data_kb.track(TRACK)
    assert [s.id for s in track.stages] == ["phone_screen", STAGE]
    assert data_kb.default_track.id == "backend-developer"  # one default, still the backend track
    assert [q.id for q in data_kb.questions_for(STAGE, "senior")] == ["dm-orders-warehouse"]
    assert data_kb.questions_for(STAGE, "junior") == []  # outside the question's range


def test_the_plan_uses_the_tracks_own_defaults_and_levels(data_kb):
    plan = build_plan(data_kb, track=TRACK, seed=1)
    assert plan.seniority == "senior"
    assert [s.stage for s in plan.stages] == ["phone_screen", STAGE]
    assert plan.stages[1].question_ids == ["dm-orders-warehouse"]
    with pytest.raises(PlanError, match="unknown seniority 'junior'; known: middle, senior"):
        build_plan(data_kb, track=TRACK, seniority="junior")
    with pytest.raises(PlanError, match="unknown stage 'coding'"):
        build_plan(data_kb, track=TRACK, stages=["coding"])


@pytest.fixture
def data_service(settings, data_kb):
    db_engine = make_engine(settings.sqlalchemy_url)
    prepare_database(db_engine, settings)
    return build_service(settings, db_engine, kb=data_kb)


def test_an_offline_interview_runs_on_the_new_track(data_kb, data_service):
    plan = build_plan(data_kb, track=TRACK, stages=[STAGE], seed=2)
    question = plan.stages[0].question_ids[0]
    said = []
    _, report = run_interview(
        data_service, iter([strong_answer(data_kb, question)] * 4), said.append,
        track=TRACK, seniority=None, stages=[STAGE], mode="coach", seed=2,
    )
    assert data_kb.track(TRACK).stage(STAGE).greeting in said[1]
    assert [s.stage for s in report.stages] == [STAGE]
    assert (report.stages[0].status, report.stages[0].answered) == ("scored", 1)


def test_the_api_runs_an_interview_on_the_new_track(settings, data_kb, data_service):
    with TestClient(create_app(settings, data_service)) as client:
        tracks = {t["id"]: t for t in client.get("/api/tracks").json()}
        assert tracks[TRACK]["seniorities"] == ["middle", "senior"] and not tracks[TRACK]["default"]
        response = client.post("/api/sessions", json={"track": TRACK, "stages": [STAGE], "seed": 4})
        assert response.status_code == 201, response.text
        session = response.json()
        assert session["stage"] == STAGE
        run_api_interview(client, data_kb, session)
        report = client.get(f"/api/sessions/{session['id']}/report", headers=auth(session["token"])).json()
        assert [s["stage"] for s in report["stages"]] == [STAGE]
        refused = client.post("/api/sessions", json={"track": TRACK, "seniority": "lead"})
        assert refused.status_code == 422
        assert "unknown seniority 'lead'; known: middle, senior" in refused.text


def test_a_session_without_track_or_seniority_gets_the_defaults(client):
    response = client.post("/api/sessions", json={"seed": 1})
    assert response.status_code == 201, response.text
    session = client.get(f"/api/sessions/{response.json()['id']}", headers=auth(response.json()["token"])).json()
    assert (session["track"], session["seniority"]) == ("backend-developer", "middle")


@pytest.mark.parametrize(("body", "message"), [
    ({"track": "frontend"}, "unknown track 'frontend'; known: backend-developer"),
    ({"seniority": "principal"}, "unknown seniority 'principal'; known: junior, middle, senior, lead"),
])
def test_unknown_ids_are_a_clear_422(client, body, message):
    response = client.post("/api/sessions", json=body)
    assert response.status_code == 422
    assert message in response.text


# ---------------------------------------------------------------- references are checked


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, root)
    add_data_engineer_track(root)
    return root


def _edit_track(root: Path, **changes) -> None:
    path = root / "tracks" / f"{TRACK}.yaml"
    track = yaml.safe_load(path.read_text(encoding="utf-8"))["tracks"][0]
    _write(path, "tracks", [track | changes])


@pytest.mark.parametrize(("changes", "message"), [
    ({"default_seniority": "lead"}, "default_seniority 'lead' is not one of its seniorities"),
    ({"seniorities": [{"id": "principal", "title": "Principal"}], "default_seniority": "principal"},
     "unknown seniority 'principal'"),
    ({"default_stages": ["coding"]}, "default stage 'coding' is not one of its stages"),
    ({"default": True}, "exactly one track needs `default: true`"),
])
def test_a_track_that_names_what_does_not_exist_is_refused(tmp_path, changes, message):
    root = _copy(tmp_path)
    _edit_track(root, **changes)
    with pytest.raises(KnowledgeError, match=message):
        load_knowledge(root)


def test_a_stage_without_a_format_is_refused(tmp_path):
    root = _copy(tmp_path)
    formats = root / "interview" / "formats.yaml"
    formats.write_text(formats.read_text(encoding="utf-8").replace(f", {STAGE}]", "]"), encoding="utf-8")
    with pytest.raises(KnowledgeError, match=f"stage {STAGE}: needs exactly one format, has none"):
        load_knowledge(root)


def test_a_stage_without_questions_for_a_level_is_refused(tmp_path):
    root = _copy(tmp_path)
    (root / "questions" / f"{STAGE}.yaml").unlink()
    (root / "model_answers" / f"{STAGE}.yaml").unlink()
    with pytest.raises(KnowledgeError, match=f"stage {STAGE}: no question fits middle"):
        load_knowledge(root)


def test_a_question_for_an_unknown_stage_or_level_is_refused(tmp_path):
    root = _copy(tmp_path)
    stray = QUESTIONS[0] | {"id": "dm-stray", "stage": "tea_break", "seniority": ["senior", "middle"]}
    _write(root / "questions" / f"{STAGE}.yaml", "questions", [*QUESTIONS, stray])
    _write(root / "model_answers" / f"{STAGE}.yaml", "model_answers",
           [*MODEL_ANSWERS, MODEL_ANSWERS[0] | {"question": "dm-stray"}])
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(root)
    assert "question dm-stray: seniority range must go from lower to higher" in str(error.value)
    _write(root / "questions" / f"{STAGE}.yaml", "questions", [*QUESTIONS, stray | {"seniority": ["senior", "staff"]}])
    with pytest.raises(KnowledgeError, match="question dm-stray: unknown seniority 'staff'; known: junior, middle"):
        load_knowledge(root)
    _write(root / "questions" / f"{STAGE}.yaml", "questions", [*QUESTIONS, stray | {"seniority": None}])
    with pytest.raises(KnowledgeError, match="question dm-stray: unknown stage 'tea_break'"):
        load_knowledge(root)


# ---------------------------------------------------------------- lengths


def _add_length(root: Path, **length) -> None:
    path = root / "interview" / "formats.yaml"
    formats = yaml.safe_load(path.read_text(encoding="utf-8"))
    formats["lengths"].append(length)
    formats["candidate_questions"]["limit"][length["id"]] = 1
    path.write_text(yaml.safe_dump(formats, sort_keys=False), encoding="utf-8")


def test_a_length_is_added_in_yaml_alone(tmp_path):
    root = _copy(tmp_path)
    _add_length(root, id="sprint", title="Sprint", description="Ten minutes.", total_minutes=10, follow_up_depth=0,
                usual_questions=False)
    kb = load_knowledge(root)
    plan = build_plan(kb, track=TRACK, length="sprint", seed=1)
    assert plan.length == "sprint" and plan.minutes <= 12
    assert build_plan(kb).length == "standard"  # the default length
    with pytest.raises(PlanError, match="unknown length 'forever'; known: quick, standard, full, sprint"):
        build_plan(kb, length="forever")


@pytest.mark.parametrize(("length", "message"), [
    ({"id": "sprint", "default": True}, "exactly one length needs `default: true`"),
    ({"id": "quick"}, "length 'quick' is listed twice"),
])
def test_lengths_are_checked(tmp_path, length, message):
    root = _copy(tmp_path)
    _add_length(root, title="Sprint", description="Ten minutes.", total_minutes=10, follow_up_depth=0, **length)
    with pytest.raises(KnowledgeError, match=message):
        load_knowledge(root)


def test_a_phase_in_an_unknown_length_is_refused(tmp_path):
    root = _copy(tmp_path)
    formats = root / "interview" / "formats.yaml"
    formats.write_text(formats.read_text(encoding="utf-8").replace("lengths: [standard, full]", "lengths: [standard, ful]", 1))
    with pytest.raises(KnowledgeError, match="unknown length 'ful'; known: quick, standard, full"):
        load_knowledge(root)


# ---------------------------------------------------------------- the command line


def test_the_cli_offers_the_tracks_and_levels_of_the_knowledge_base(tmp_path, monkeypatch, capsys):
    import io

    from coach.cli import main
    from coach.config import get_settings

    monkeypatch.setenv("COACH_KNOWLEDGE_DIR", str(_copy(tmp_path)))
    get_settings.cache_clear()
    with pytest.raises(SystemExit):
        main(["interview", "--help"])
    assert "backend-developer, data-engineer; default: the default track" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        main(["interview", "--seniority", "principal"])
    assert "choose from 'junior', 'middle', 'senior', 'lead'" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("/end\n"))
    assert main(["interview", "--track", TRACK, "--stages", STAGE]) == 0
    assert "Data Modeling" in capsys.readouterr().out


def test_commands_that_need_no_knowledge_do_not_load_it(monkeypatch):
    from coach import cli

    def refuse(*_args):
        raise AssertionError("the knowledge base was loaded")

    monkeypatch.setattr(cli, "load_knowledge", refuse)
    assert cli._parser().parse_args(["db", "upgrade"]).run is cli._db_upgrade


# ---------------------------------------------------------------- the pages


def test_the_chat_page_marks_the_stages_whose_format_runs_code(tmp_path):
    from coach.config import Settings
    from tests.test_pages import begin, soup

    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as web:
        session_id, _ = begin(web, stages=("phone_screen", "coding", "system_design"))
        progress = soup(web.get(f"/s/{session_id}")).select("#progress li")
    assert {li["data-stage"]: li.has_attr("data-code") for li in progress} == {
        "phone_screen": False, "coding": True, "system_design": False,
    }


def test_the_start_page_offers_the_default_track_at_its_default_level(tmp_path):
    from coach.config import Settings
    from tests.test_pages import soup

    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as web:
        page = soup(web.get("/"))
        assert page.select_one("#seniority option[selected]")["value"] == "middle"
        response = web.post("/sessions", data={"stages": ["behavioral"]}, follow_redirects=False)  # no level sent
        assert response.status_code == 303, response.text
