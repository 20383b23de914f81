"""Every front-end asset ships with the app, pinned and licensed, and no page points at another host
(the browser tests also record every request the coding pages make: see test_coderun_browser.py)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from bs4 import BeautifulSoup

from tests.support.api import auth, start

STATIC = Path(__file__).resolve().parents[1] / "web" / "static"
VENDOR = STATIC / "vendor"


def test_each_vendored_package_has_its_version_in_its_path_and_its_licence_beside_it():
    folders = sorted(p.name for p in VENDOR.iterdir() if p.is_dir())
    assert folders == ["codemirror-6.43.15", "pyodide-314.0.8", "sql.js-1.17.0"]
    for folder in folders:
        licences = list((VENDOR / folder).glob("LICENSE*"))
        assert licences and licences[0].stat().st_size > 1000, folder
    assert (VENDOR / "codemirror-6.43.15" / "cm-editor-6.43.15.bundle.js").exists()
    pyodide = {p.name for p in (VENDOR / "pyodide-314.0.8").iterdir()}
    assert {"pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"} <= pyodide


def test_our_scripts_load_runtimes_from_the_vendor_folder_only():
    for script in (STATIC / "coderun").glob("*.js"):
        text = script.read_text()
        assert not re.search(r"https?://", text), script.name
        for path in re.findall(r"\.\./vendor/([^/\"'`]+)/", text):
            assert (VENDOR / path).is_dir(), f"{script.name} loads {path}, which is not vendored"


def referenced_urls(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [tag.get(attr) for attr in ("src", "href", "action") for tag in soup.find_all(attrs={attr: True})]


def test_no_page_references_another_host(client, kb):
    session = start(client, stages=["coding"])
    pages = ["/", "/history", f"/s/{session['id']}", "/review/login"]
    client.cookies.clear()
    # the chat page needs this browser's cookie: start through the form, as a browser does
    form = client.post("/sessions", data={"seniority": "middle", "mode": "coach", "stages": ["coding"]},
                       follow_redirects=False)
    pages[2] = form.headers["location"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        foreign = [url for url in referenced_urls(response.text) if urlsplit(url).netloc not in ("", "testserver")]
        assert foreign == [], f"{page} references {foreign}"
    task = client.get(f"/api/sessions/{session['id']}/task", headers=auth(session["token"]))
    assert task.status_code in (200, 404)


def test_the_wasm_runtimes_are_served_by_the_app(client):
    for path, kind in [
        ("/static/vendor/pyodide-314.0.8/pyodide.asm.wasm", "application/wasm"),
        ("/static/vendor/sql.js-1.17.0/sql-wasm-browser.wasm", "application/wasm"),
        ("/static/vendor/pyodide-314.0.8/pyodide.mjs", "javascript"),
        ("/static/coderun/harness.py", "python"),
    ]:
        response = client.get(path)
        assert response.status_code == 200 and kind in response.headers["content-type"], path
