"""Exports: Markdown that no renderer can turn into script, code kept as code, a CSV that streams,
and each download defined once for either login."""

from __future__ import annotations

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from coach import exports, review_store
from coach.presenters.review import grade_export_records
from tests.support.api import auth, start
from tests.support.review import account, api, login, make_reviewer, run_session  # noqa: F401  (fixtures)

HOSTILE = (
    "I would cache it. <script>alert(1)</script> [docs](javascript:alert(1)) <javascript:alert(2)> "
    "![x](javascript:alert(3)) <img src=x onerror=alert(4)>\n\n```python\ndef get(self, key):\n"
    "    return self.data[key]  # <b>hot</b> ```\n```"
)


def permissive_html(markdown: str) -> BeautifulSoup:
    """The export rendered as a careless viewer would: raw HTML on, every link scheme allowed."""
    renderer = MarkdownIt("commonmark", {"html": True})
    renderer.validateLink = lambda url: True
    return BeautifulSoup(renderer.render(markdown), "html.parser")


def test_markdown_export_escapes_candidate_markup_and_fences_code(client, kb, account):
    session = run_session(client, kb, seed=5, answer=lambda kb, q: HOSTILE)
    markdown = client.get(f"/api/review/sessions/{session['id']}/export.md", headers=api(account)).text
    page = permissive_html(markdown)
    assert not page.select("script, img, b") and not page.select("a[href^=javascript]")
    assert not [a for a in page.select("a") if "alert" in a.get("href", "")]
    quoted = page.select("blockquote")
    assert any("<script>alert(1)</script>" in q.get_text() for q in quoted)  # shown as the candidate wrote it
    code = page.select("blockquote pre code.language-python")
    assert code and code[0].get_text() == "def get(self, key):\n    return self.data[key]  # <b>hot</b> ```\n"


def test_the_markdown_of_a_plain_text_is_the_text():
    assert exports.markdown_escape("Latency fell from 900 ms to 120 ms.") == "Latency fell from 900 ms to 120 ms."
    assert exports.markdown_escape("a_b *c* [d] <e> & |f|") == r"a\_b \*c\* \[d\] &lt;e&gt; &amp; \|f\|"


def test_the_grades_csv_streams_a_batch_of_sessions_at_a_time(client, kb):
    for seed in (1, 2, 3):
        session = start(client, seed=seed)
        answer = client.post(f"/api/sessions/{session['id']}/answers", json={"text": "I would add an index."},
                             headers=auth(session["token"]))
        assert answer.status_code == 200
    engine = client.app.state.service.db_engine
    batches_read = []

    def counted(size):
        for batch in review_store.export_batches(engine, size=size):
            batches_read.append(len(batch[0]))
            yield batch

    lines = exports.csv_lines(grade_export_records(counted(1)))
    assert next(lines).startswith("session_id,") and batches_read == []  # the header needs no read
    first = next(lines)
    assert batches_read == [1] and first.count(",") >= len(exports.CSV_COLUMNS) - 1  # one session read, not three
    rest = list(lines)
    assert batches_read == [1, 1, 1] and len(rest) >= 2


def test_the_csv_download_is_streamed_not_sized_up_front(client, kb, account):
    run_session(client, kb, seed=2)
    response = client.get("/api/review/export/grades.csv", headers=api(account))
    assert response.status_code == 200 and response.text.startswith("session_id,")
    assert "content-length" not in response.headers  # chunked: the body was never built whole


def test_each_download_takes_either_login_in_either_place(client, kb, account):
    session = run_session(client, kb, seed=2)
    path = f"/sessions/{session['id']}/export.md"
    assert client.get("/review" + path, headers=api(account)).status_code == 200  # a token on the page URL
    assert client.get("/api/review" + path, headers=api(account)).status_code == 200
    login(client, account)
    assert client.get("/review" + path).status_code == 200  # the login cookie
    client.cookies.clear()
    assert client.get("/api/review" + path).status_code == 401
    anonymous = client.get("/review" + path, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/review/login")
