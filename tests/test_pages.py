"""The server-rendered pages, through TestClient, read with BeautifulSoup."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from coach.api.app import create_app
from coach.api.pages import COOKIE
from coach.api.templating import highlight, markdown_to_html
from coach.config import Settings
from tests.support.answers import strong_answer
from tests.support.api import auth

XSS = "<script>alert(1)</script>"


@pytest.fixture
def web(tmp_path):
    """A browser-like client (keeps cookies) on SQLite; the API tests cover both databases."""
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        yield client


def soup(response) -> BeautifulSoup:
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    return BeautifulSoup(response.text, "html.parser")


def begin(web, *, stages=("phone_screen",), mode="coach", seniority="senior") -> tuple[str, str]:
    """Start a session through the form; returns (id, token) as the chat page hands them out."""
    response = web.post("/sessions", data={"seniority": seniority, "mode": mode, "stages": list(stages)},
                        follow_redirects=False)
    assert response.status_code == 303, response.text
    session_id = response.headers["location"].rsplit("/", 1)[-1]
    chat = soup(web.get(f"/s/{session_id}")).select_one("#chat")
    return session_id, chat["data-token"]


def answer(web, session_id, token, text) -> dict:
    response = web.post(f"/api/sessions/{session_id}/answers", json={"text": text}, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


def run_to_end(web, kb, session_id, token) -> None:
    question = web.get(f"/api/sessions/{session_id}", headers=auth(token)).json()["question"]
    for _ in range(60):
        body = answer(web, session_id, token, strong_answer(kb, question["id"]))
        if body["done"]:
            return
        question = body["question"]
    raise AssertionError("never finished")


# --- start page ----------------------------------------------------------------------------


def test_the_start_page_offers_seniority_stages_and_mode(web, kb):
    page = soup(web.get("/"))
    track = kb.track("backend-developer")
    assert [o["value"] for o in page.select("#seniority option")] == [s.id for s in track.seniorities]
    checked = [box["value"] for box in page.select("input[name=stages][checked]")]
    assert checked == ["phone_screen", "coding", "system_design", "behavioral"]
    assert {r["value"] for r in page.select("input[name=mode]")} == {"coach", "interview"}
    assert page.select_one("input[name=mode][value=coach]").has_attr("checked")
    rows = page.select(".stages-table tbody tr")
    assert len(rows) == len(track.stages)
    first = track.stages[0]
    assert rows[0].th.get_text(strip=True) == first.title
    assert f"{first.minutes} min" in rows[0].get_text()
    assert first.focus[0] in rows[0].get_text()
    assert "offline" in page.select_one("#grading-note").get_text()


def test_every_form_control_has_a_label(web):
    page = soup(web.get("/"))
    for control in page.select("form select, form input, form textarea"):
        labelled = (control.get("id") and page.select_one(f'label[for="{control["id"]}"]')) or control.find_parent("label")
        assert labelled, control


def test_the_grading_note_names_the_llm_model(tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path / "data", OPENAI_API_KEY="sk-test", model="judge-9")
    app = create_app(settings)
    monkeypatch.setattr(app.state.service.grading.scorer, "name", "llm", raising=False)
    with TestClient(app) as client:
        note = soup(client.get("/")).select_one("#grading-note")
    assert "LLM" in note.get_text() and "judge-9" in note.get_text()


def test_starting_remembers_the_session_in_a_signed_httponly_cookie(web):
    response = web.post("/sessions", data={"seniority": "junior", "mode": "interview", "stages": ["coding"]},
                        follow_redirects=False)
    assert response.status_code == 303
    assert re.fullmatch(r"/s/[0-9a-f]+", response.headers["location"])
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    chat = soup(web.get(response.headers["location"])).select_one("#chat")
    assert chat["data-mode"] == "interview" and chat["data-stage"] == "coding"


def test_a_form_without_stages_is_shown_again_with_an_error(web):
    response = web.post("/sessions", data={"seniority": "middle", "mode": "interview"})
    assert response.status_code == 422
    page = soup(response)
    assert "at least one stage" in page.select_one("#form-error").get_text()
    assert page.select_one("input[name=mode][value=interview]").has_attr("checked")


def test_an_unknown_seniority_is_refused_on_the_form(web):
    response = web.post("/sessions", data={"seniority": "wizard", "mode": "coach", "stages": ["coding"]})
    assert response.status_code == 422
    assert "seniority" in soup(response).select_one("#form-error").get_text()


# --- chat ----------------------------------------------------------------------------------


def test_the_chat_page_shows_the_question_progress_and_deadline(web, kb):
    session_id, token = begin(web, stages=("phone_screen", "coding"))
    page = soup(web.get(f"/s/{session_id}"))
    chat = page.select_one("#chat")
    assert chat["data-token"] == token
    assert datetime.fromisoformat(chat["data-deadline"].replace("Z", "+00:00")).tzinfo is not None
    assert [li["data-stage"] for li in page.select("#progress li")] == ["phone_screen", "coding"]
    assert page.select_one("#progress li.current")["aria-current"] == "step"
    first = page.select_one("#transcript li.interviewer")
    assert kb.questions[chat["data-question"]].prompt.split("\n")[0][:40] in first.get_text()
    assert first.select_one(".stage-divider") is not None
    assert page.select_one("label[for=answer]") and page.select_one("textarea#answer")
    assert page.select_one("script[type=module]")["src"].endswith("/static/chat.js")


def test_another_browser_cannot_open_the_session(web):
    session_id, _ = begin(web)
    web.cookies.clear()
    response = web.get(f"/s/{session_id}")
    assert response.status_code == 404
    assert soup(response).h1.get_text() == "Session not found"
    web.cookies.set(COOKIE, "forged.value")
    assert web.get(f"/s/{session_id}/report").status_code == 404


def test_a_coach_mode_answer_gets_a_feedback_card(web, kb):
    session_id, token = begin(web)
    question = soup(web.get(f"/s/{session_id}")).select_one("#chat")["data-question"]
    answer(web, session_id, token, strong_answer(kb, question))
    page = soup(web.get(f"/s/{session_id}/turns?after=0"))
    card = page.select_one("li.candidate .feedback")
    assert card["data-status"] == "done"
    assert re.fullmatch(r"\d\.\d/5", card.select_one(".feedback-head .score").get_text(strip=True))
    assert card.select(".criterion") and card.select("blockquote.evidence")
    assert card.select_one(".scorer").get_text(strip=True) == "Graded by the offline rubric scorer"
    assert [li["data-seq"] for li in page.select("li[data-seq]")] == ["1", "2"]


def test_a_pending_grade_shows_grading(web, kb):
    session_id, token = begin(web)
    web.app.state.service.grading.grade_now = lambda grade_id, worker="inline": None  # another worker holds it
    question = soup(web.get(f"/s/{session_id}")).select_one("#chat")["data-question"]
    answer(web, session_id, token, strong_answer(kb, question))
    card = soup(web.get(f"/s/{session_id}/turns?after=0")).select_one(".feedback")
    assert card["data-status"] == "pending"
    assert "Grading…" in card.get_text()


def test_interview_mode_shows_no_grade_before_the_end(web, kb):
    session_id, token = begin(web, mode="interview")
    question = soup(web.get(f"/s/{session_id}")).select_one("#chat")["data-question"]
    answer(web, session_id, token, strong_answer(kb, question))
    assert not soup(web.get(f"/s/{session_id}")).select(".feedback")
    run_to_end(web, kb, session_id, token)
    report = soup(web.get(f"/s/{session_id}/report"))
    assert report.select(".exchange .feedback[data-status=done]")


def test_a_script_answer_is_text_on_every_page(web):
    session_id, token = begin(web)
    answer(web, session_id, token, XSS)
    web.post(f"/api/sessions/{session_id}/finish", headers=auth(token))
    for url in (f"/s/{session_id}", f"/s/{session_id}/turns", f"/s/{session_id}/report"):
        page = soup(web.get(url))
        assert not [s for s in page.find_all("script") if not s.get("src")], url  # no inline script at all
        assert not page.select("[onclick], [onload], [onerror]"), url
        texts = [node.get_text() for node in page.select(".answer-text")]
        assert XSS in texts, url


def test_interviewer_markdown_is_rendered_without_raw_html():
    html = str(markdown_to_html("Use **indexes**.\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))"))
    page = BeautifulSoup(html, "html.parser")
    assert page.strong.get_text() == "indexes"
    assert page.img is None and "&lt;img" in html
    assert not page.select('a[href^="javascript"]')


def test_highlight_escapes_then_marks_exact_quotes():
    text = 'I use <b>caching</b> & "indexes". Indexes speed up reads. Indexes speed up reads.'
    html = str(highlight(text, ["Indexes speed up reads.", "<b>caching</b>"], ["& \"indexes\""]))
    page = BeautifulSoup(html, "html.parser")
    assert page.b is None
    assert [m.get_text() for m in page.select("mark.evidence")] == ["<b>caching</b>"] + ["Indexes speed up reads."] * 2
    assert [m.get_text() for m in page.select("mark.mistake")] == ['& "indexes"']
    assert page.get_text() == text


def test_reloading_renders_the_stored_transcript(web, kb):
    session_id, token = begin(web, stages=("phone_screen", "behavioral"))
    first_question = soup(web.get(f"/s/{session_id}")).select_one("#chat")["data-question"]
    first = strong_answer(kb, first_question)
    body = answer(web, session_id, token, first)
    page = soup(web.get(f"/s/{session_id}"))
    assert page.select_one("li.candidate .answer-text").get_text() == first
    assert page.select_one("#chat")["data-question"] == body["question"]["id"]
    assert len(page.select("#transcript li[data-seq]")) == 3


# --- report and history --------------------------------------------------------------------


def test_the_report_has_signals_a_chart_strengths_improvements_and_every_answer(web, kb):
    session_id, token = begin(web, stages=("phone_screen", "behavioral"))
    run_to_end(web, kb, session_id, token)
    page = soup(web.get(f"/s/{session_id}/report"))
    assert re.fullmatch(r"\d\.\d/5", page.select_one("#overall .score").get_text(strip=True))
    assert [li["data-stage"] for li in page.select("#stage-results li")] == ["phone_screen", "behavioral"]
    assert all(li.select_one(".signal") for li in page.select("#stage-results li"))
    bars = page.select("#criteria-chart svg g.bar")
    report = web.get(f"/api/sessions/{session_id}/report", headers=auth(token)).json()
    assert len(bars) == len(report["criteria"])
    for improvement in page.select("#improvements li a[href^='#tip-']"):
        assert page.select_one(improvement["href"]) is not None
    answers = page.select(".exchange")
    candidate = [m for m in web.get(f"/api/sessions/{session_id}", headers=auth(token)).json()["messages"]
                 if m["role"] == "candidate"]
    assert len(answers) == len(candidate)
    marks = page.select(".exchange .answer-text mark.evidence")
    assert marks and all(m.get_text() in "\n".join(c["text"] for c in candidate) for m in marks)
    assert page.select_one('link[rel=stylesheet][media=print]')


def test_the_report_of_a_running_session_sends_back_to_the_chat(web):
    session_id, _ = begin(web)
    response = web.get(f"/s/{session_id}/report", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/s/{session_id}"


def test_history_lists_this_browsers_sessions_and_charts_each_criterion(web, kb):
    done = []
    for _ in range(2):
        session_id, token = begin(web)
        run_to_end(web, kb, session_id, token)
        done.append(session_id)
    running, _ = begin(web)
    page = soup(web.get("/history"))
    rows = page.select("#sessions li")
    assert [r["data-session"] for r in rows] == [running, *reversed(done)]
    assert rows[0].a["href"] == f"/s/{running}"
    assert rows[1].a["href"] == f"/s/{done[1]}/report"
    trends = page.select("#trends li")
    assert trends
    for row in trends:
        svg = row.select_one("svg")
        assert svg["role"] == "img" and len(svg.select("circle")) >= 1
    web.cookies.clear()
    assert not soup(web.get("/history")).select("#sessions")


def test_static_files_are_served(web):
    assert web.get("/static/chat.js").status_code == 200
    assert "@media" in web.get("/static/app.css").text


# --- lengths, formats and job descriptions on the pages ------------------------------------


def test_the_start_page_says_how_long_each_length_takes(web, kb):
    page = soup(web.get("/"))
    radios = {r["value"]: r for r in page.select("input[name=length]")}
    assert list(radios) == ["quick", "standard", "full"] and "checked" in radios["standard"].attrs
    minutes = {value: radio.find_parent("label").select_one(".length-minutes").get_text() for value, radio in radios.items()}
    assert minutes["quick"] == "about 20 min" and minutes["full"] == "about 210 min"
    assert page.select_one("textarea#job_description")["maxlength"] == "20000"
    assert page.select_one("label[for=job_description]") and page.select_one("label[for=cv_summary]")


def test_the_chosen_length_sets_the_plan_and_the_countdowns(web, kb):
    response = web.post("/sessions", data={"stages": ["phone_screen", "system_design"], "length": "quick",
                                           "job_description": "Kafka and PostgreSQL"}, follow_redirects=False)
    assert response.status_code == 303
    page = soup(web.get(response.headers["location"]))
    minutes = [int(li["data-minutes"]) for li in page.select("#progress li")]
    assert 17 <= sum(minutes) <= 23
    assert page.select_one(".stage-divider small").get_text() == f"{minutes[0]} min"


def test_an_unknown_length_on_the_form_is_shown_again_with_an_error(web):
    response = web.post("/sessions", data={"stages": ["coding"], "length": "marathon", "job_description": "Go"})
    assert response.status_code == 422
    page = soup(response)
    assert "unknown length" in page.select_one("#form-error").get_text()
    assert page.select_one("textarea#job_description").get_text() == "Go"


def test_the_chat_labels_phases_and_the_candidates_questions(web, kb):
    session_id, token = begin(web, stages=("system_design",))
    answer(web, session_id, token, "How many daily active users should I plan for?")
    page = soup(web.get(f"/s/{session_id}"))
    mine = page.select("#transcript li.candidate")[-1]
    assert mine.select_one(".tag").get_text() == "your question"
    reply = page.select("#transcript li.interviewer")[-1]
    assert [t.get_text() for t in reply.select(".tag")] == ["Requirements clarification", "answer to your question"]
