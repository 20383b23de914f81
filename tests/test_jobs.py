"""Job-tailored practice: a pasted description steers the choice of questions, is stored and
shown to reviewers, and the report says which of its skills were exercised."""

from __future__ import annotations

from coach.engine import build_plan
from coach.jobs import job_terms
from tests.support.answers import strong_answer
from tests.support.api import auth, start

DATA_JOB = """Senior backend engineer, data platform. You will own our Kafka ingestion pipeline, tune
PostgreSQL queries and indexes, and keep Spark jobs and Cassandra storage healthy. Monitoring and
alerting with Prometheus and Grafana; on-call for the pipeline."""
API_JOB = """Backend developer for our public REST API. You will design endpoints, OAuth and JWT
authentication, rate limiting, OpenAPI documentation and integration tests, and work on caching with
Redis and a CDN."""
STAGES = ["technical", "architecture_deep_dive", "behavioral"]


def test_two_job_descriptions_pick_different_questions(kb):
    plans = [build_plan(kb, track="backend-developer", seniority="senior", stages=STAGES, seed=4,
                        preferred_terms=job_terms(kb, text)) for text in (DATA_JOB, API_JOB)]
    asked = [[q for s in plan.stages for q in s.question_ids] for plan in plans]
    assert asked[0] != asked[1]
    for text, questions in zip((DATA_JOB, API_JOB), asked, strict=False):
        terms = job_terms(kb, text)
        named = [q for q in questions if terms & {t for p in kb.questions[q].key_points for t in p.terms}]
        assert len(named) >= len(questions) - 1  # nearly every question picked touches the description


def test_no_description_leaves_the_seeded_choice_alone(kb):
    plain = build_plan(kb, track="backend-developer", seniority="senior", stages=STAGES, seed=4)
    empty = build_plan(kb, track="backend-developer", seniority="senior", stages=STAGES, seed=4,
                       preferred_terms=job_terms(kb, "   "))
    assert plain == empty


def test_the_description_is_stored_shown_to_reviewers_and_reported(client, kb):
    session = start(client, stages=["technical"], length="quick", job_description=DATA_JOB, cv_summary="Five years of Go.")
    question = session["question"]["id"]
    assert job_terms(kb, DATA_JOB) & {t for p in kb.questions[question].key_points for t in p.terms}
    for _ in range(10):
        body = client.post(f"/api/sessions/{session['id']}/answers", json={"text": strong_answer(kb, question)},
                           headers=auth(session["token"])).json()
        if body["done"]:
            break
        question = body["question"]["id"]
    report = client.get(f"/api/sessions/{session['id']}/report", headers=auth(session["token"])).json()
    assert report["job_skills_exercised"] and set(report["job_skills_exercised"]) <= job_terms(kb, DATA_JOB)
    assert report["length"] == "quick"


def test_an_oversized_description_is_refused_and_nothing_is_stored(client, settings):
    from sqlalchemy import func, select

    from coach import store

    engine = store.make_engine(settings.sqlalchemy_url)

    def sessions() -> int:
        with engine.connect() as db:
            return db.execute(select(func.count()).select_from(store.SESSIONS)).scalar()

    response = client.post("/api/sessions", json={"job_description": "x" * 20_001})
    assert response.status_code == 422 and "job_description" in response.text
    response = client.post("/sessions", data={"stages": ["technical"], "job_description": "x" * 20_001})
    assert response.status_code == 422 and "too long" in response.text
    response = client.post("/api/sessions", json={"length": "forever"})
    assert response.status_code == 422 and sessions() == 0
    engine.dispose()


def test_reviewers_see_the_description(client, settings):
    from coach.api.review import transcript_of

    session = start(client, stages=["technical"], length="quick", job_description=API_JOB, cv_summary="Go, 5 years")
    detail = transcript_of(client.app.state.service, session["id"])
    assert detail.job_description == API_JOB and detail.cv_summary == "Go, 5 years"
