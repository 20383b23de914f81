"""The reviewer's pages: login, every route closed to strangers, CSRF, transcripts, overrides, insights, exports."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fastapi import routing

from tests.support.api import auth
from tests.support.review import (  # noqa: F401  (fixtures)
    SCRIPT,
    account,
    api,
    csrf_of,
    first_grade,
    login,
    sessions,
    soup,
)

PUBLIC = {("GET", "/review/login"), ("POST", "/review/login")}


def reviewer_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route in the reviewer area and the review API, from the app itself.

    FastAPI 0.16x keeps included routers as branches; `iter_route_contexts` flattens them.
    """
    iterate = getattr(routing, "iter_route_contexts", None)
    found = []
    for route in (iterate(app.routes) if iterate else app.routes):
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if path and methods and (path == "/review" or path.startswith(("/review/", "/api/review/"))):
            found += [(method, path) for method in sorted(methods - {"HEAD"})]
    return found


def fill(path: str, ids: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


def real_ids(client, account, session_id: str) -> dict:
    grade = first_grade(client, account, session_id)
    detail = client.get(f"/api/review/sessions/{session_id}", headers=api(account)).json()
    turn = next(t for t in detail["turns"] if t["grade"] and t["grade"]["id"] == grade["id"])
    return {"session_id": session_id, "grade_id": grade["id"], "turn_id": turn["id"]}


def test_every_reviewer_route_refuses_strangers_and_candidates(client, account, sessions):
    candidate = sessions["senior"]
    ids = real_ids(client, account, candidate["id"])
    routes = reviewer_routes(client.app)
    assert len(routes) >= 20, routes  # the walk found the reviewer area, not an empty list
    callers = {
        "anonymous": {},
        "candidate bearer token": auth(candidate["token"]),
        "candidate token as cookie": {"Cookie": f"coach_review={candidate['token']}"},
    }
    form = {"csrf_token": "x", "score": "1", "comment": "c", "text": "t", "reviewed": "true", "criterion": ""}
    body = {"criterion": None, "score": 1, "comment": "c", "text": "t", "reviewed": True}
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        url = fill(path, ids)
        for who, headers in callers.items():
            client.cookies.clear()
            if path.startswith("/api/"):
                response = client.request(method, url, headers=headers, json=body if method == "POST" else None)
                assert response.status_code == 401, (who, method, path, response.status_code)
            else:
                response = client.request(method, url, headers=headers, data=form if method == "POST" else None,
                                          follow_redirects=False)
                assert response.status_code == 303, (who, method, path, response.status_code)
                assert response.headers["location"].startswith("/review/login"), (who, method, path)
    detail = client.get(f"/api/review/sessions/{candidate['id']}", headers=api(account)).json()
    assert detail["reviewed"] is False
    assert not any(t["comments"] or (t["grade"] and t["grade"]["overrides"]) for t in detail["turns"])


def test_the_login_page_itself_shows_no_data(client, sessions):
    page = client.get("/review/login")
    assert page.status_code == 200
    assert sessions["senior"]["id"] not in page.text and not soup(page).select("table")


def test_login_sets_a_signed_httponly_samesite_cookie_and_logout_ends_it(client, account):
    page = client.get("/review/login")
    wrong = client.post("/review/login", data={"email": account.email, "password": "nope", "csrf_token": csrf_of(page)})
    assert wrong.status_code == 401 and "wrong email or password" in wrong.text
    response = client.post(
        "/review/login", data={"email": account.email, "password": account.password, "csrf_token": csrf_of(page),
                               "next": "/review/insights"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/review/insights"
    cookie = response.headers["set-cookie"].lower()
    assert "coach_review=" in cookie and "httponly" in cookie and "samesite=lax" in cookie and "path=/review" in cookie
    assert client.get("/review/sessions", follow_redirects=False).status_code == 200

    token = csrf_of(client.get("/review/sessions"))
    assert client.post("/review/logout", data={}, follow_redirects=False).status_code == 403
    assert client.post("/review/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert client.get("/review/sessions", follow_redirects=False).status_code == 303


def test_login_refuses_a_form_without_its_csrf_token_and_foreign_next(client, account):
    client.get("/review/login")
    no_csrf = client.post("/review/login", data={"email": account.email, "password": account.password})
    assert no_csrf.status_code == 403
    page = client.get("/review/login")
    response = client.post(
        "/review/login", data={"email": account.email, "password": account.password, "csrf_token": csrf_of(page),
                               "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/review/sessions"


def test_failed_logins_are_throttled(client, account):
    page = client.get("/review/login")
    for _ in range(5):
        client.post("/review/login", data={"email": account.email, "password": "wrong", "csrf_token": csrf_of(page)})
    blocked = client.post("/review/login", data={"email": account.email, "password": account.password,
                                                 "csrf_token": csrf_of(page)}, follow_redirects=False)
    assert blocked.status_code == 429 and "too many failed logins" in blocked.text


def test_state_changes_need_the_csrf_token(client, account, sessions):
    login(client, account)
    grade = first_grade(client, account, sessions["senior"]["id"])
    for token in (None, "forged"):
        data = {"criterion": "", "score": "1", "comment": "sneaky"} | ({"csrf_token": token} if token else {})
        response = client.post(f"/review/grades/{grade['id']}/override", data=data, follow_redirects=False)
        assert response.status_code == 403
    assert first_grade(client, account, sessions["senior"]["id"])["overrides"] == []


def test_sessions_page_filters_sorts_and_paginates(client, account, sessions):
    login(client, account)
    page = soup(client.get("/review/sessions"))
    links = [a["href"] for a in page.select("table.sessions tbody a")]
    assert len(links) == 2
    junior = soup(client.get("/review/sessions", params={"seniority": "junior", "date_from": "", "score_min": ""}))
    assert [a["href"] for a in junior.select("table.sessions tbody a")] == [f"/review/sessions/{sessions['junior']['id']}"]
    best = soup(client.get("/review/sessions", params={"sort": "score", "order": "desc", "per_page": 1}))
    assert [a["href"] for a in best.select("table.sessions tbody a")] == [f"/review/sessions/{sessions['senior']['id']}"]
    next_link = best.select_one("a[rel=next]")["href"]
    assert "page=2" in next_link and "sort=score" in next_link
    second = soup(client.get("/review/sessions" + next_link))
    assert [a["href"] for a in second.select("table.sessions tbody a")] == [f"/review/sessions/{sessions['junior']['id']}"]
    bad = client.get("/review/sessions", params={"score_min": "lots"})
    assert bad.status_code == 200 and "not valid" in bad.text


def test_the_transcript_highlights_evidence_inside_the_escaped_answer(client, account, sessions):
    login(client, account)
    page = soup(client.get(f"/review/sessions/{sessions['senior']['id']}"))
    answers = page.select(".turn-candidate .answer-text")
    assert answers and all(SCRIPT in a.get_text() for a in answers)
    marks = page.select(".answer-text mark.evidence")
    assert marks
    quotes = {li.get_text() for li in page.select("ul.evidence q")}
    assert all(any(mark.get_text() in quote for quote in quotes) for mark in marks)
    grade = page.select_one("section.grade")
    assert "offline" in grade.select_one(".provenance").get_text()
    assert "rubric" in grade.select_one(".provenance").get_text()
    assert grade.select("table.criteria tbody tr")


def test_override_and_comment_from_the_page_show_in_the_audit_trail(client, account, sessions):
    token = login(client, account)
    session_id = sessions["senior"]["id"]
    grade = first_grade(client, account, session_id)
    criterion = grade["criteria"][0]
    response = client.post(
        f"/review/grades/{grade['id']}/override",
        data={"csrf_token": token, "criterion": criterion["id"], "score": "2", "comment": "Evidence is thin."},
        follow_redirects=False,
    )
    assert response.status_code == 303
    refused = client.post(f"/review/grades/{grade['id']}/override",
                          data={"csrf_token": token, "criterion": "", "score": "2", "comment": ""})
    assert "not saved" in refused.text

    page = soup(client.get(f"/review/sessions/{session_id}"))
    section = page.select_one(f"#grade-{grade['id']}")
    trail = section.select(".audit li")
    assert len(trail) == 1
    text = trail[0].get_text(" ")
    assert account.email in text and criterion["id"] in text and "Evidence is thin." in text
    assert f"from {criterion['machine_score']:g} to 2" in text
    row = next(r for r in section.select("table.criteria tbody tr") if r.th.get_text() == criterion["name"])
    assert [td.get_text() for td in row.select("td.num")] == [f"{criterion['machine_score']:g}", "2"]

    turn_id = page.select_one(".turn-candidate")["id"].removeprefix("turn-")
    client.post(f"/review/turns/{turn_id}/comments", data={"csrf_token": token, "text": f"See {SCRIPT}"})
    client.post(f"/review/sessions/{session_id}/reviewed", data={"csrf_token": token, "reviewed": "true"})
    page = soup(client.get(f"/review/sessions/{session_id}"))
    assert [c.get_text() for c in page.select(".comments .comment-text")] == [f"See {SCRIPT}"]
    assert page.select_one(".reviewed-state").get_text() == "yes"


def test_no_reviewer_page_runs_the_candidates_markup(client, account, sessions):
    token = login(client, account)
    session_id = sessions["senior"]["id"]
    grade = first_grade(client, account, session_id)
    client.post(f"/review/grades/{grade['id']}/override",
                data={"csrf_token": token, "criterion": "", "score": "2", "comment": SCRIPT})
    pages = ["/review/sessions", f"/review/sessions/{session_id}", "/review/insights", "/review/login"]
    for url in pages:
        page = soup(client.get(url))
        # the page's own module from /static is the only script; nothing the candidate wrote runs
        assert [s for s in page.select("script") if "/static/" not in s.get("src", "")] == [], url
        assert not page.select("img[onerror]"), url
    transcript = client.get(f"/review/sessions/{session_id}").text
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in transcript


def test_insights_page_draws_charts_and_the_calibration_figures(client, account, sessions):
    token = login(client, account)
    grade = first_grade(client, account, sessions["senior"]["id"])
    client.post(f"/review/grades/{grade['id']}/override",
                data={"csrf_token": token, "criterion": "", "score": "1", "comment": "Far too high."})
    page = soup(client.get("/review/insights"))
    assert len(page.select("#stages svg")) >= 2 and page.select("#criteria svg") and page.select("#overrides svg")
    assert page.select("#mistakes svg") or "No mistakes" in page.select_one("#mistakes").get_text()
    figures = {row.th.get_text(): row.td.get_text() for row in page.select("#calibration tr")}
    assert figures["Answers with a reviewer's score"] == "1"
    assert "1 override on 1 answer" in page.select_one("#overrides p").get_text()


def test_page_exports_download_markdown_json_and_csv(client, account, sessions):
    token = login(client, account)
    session_id = sessions["senior"]["id"]
    grade = first_grade(client, account, session_id)
    client.post(f"/review/grades/{grade['id']}/override",
                data={"csrf_token": token, "criterion": "", "score": "3", "comment": "Fair, not great."})
    page = soup(client.get(f"/review/sessions/{session_id}"))
    links = {a.get_text(): a["href"] for a in page.select(".actions a")}
    markdown = client.get(links["Markdown"])
    assert "attachment" in markdown.headers["content-disposition"] and "Fair, not great." in markdown.text
    data = json.loads(client.get(links["JSON"]).text)
    assert any(o["comment"] == "Fair, not great." for t in data["turns"] if t["grade"] for o in t["grade"]["overrides"])
    rows = list(csv.DictReader(io.StringIO(client.get("/review/export/grades.csv").text)))
    assert {r["session_id"] for r in rows} == {s["id"] for s in sessions.values()}
    overridden = [r for r in rows if r["grade_id"] == str(grade["id"])]
    assert overridden and all(r["overall"] == "3.0" and r["machine_overall"] != "3.0" for r in overridden)
    css = client.get("/static/review.css").text
    assert "@media print" in css


@pytest.mark.parametrize("path", ["/review/sessions/nope", "/review/sessions/nope/export.md"])
def test_unknown_sessions_are_404_for_a_reviewer(client, account, path):
    login(client, account)
    assert client.get(path).status_code == 404
