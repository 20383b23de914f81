"""The wheel is the whole app: built from this checkout, installed in a fresh venv and run from a folder
outside the checkout, it checks its knowledge base, grades and serves its pages, assets and API docs."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from bs4 import BeautifulSoup

REPO = Path(__file__).resolve().parent.parent
# What the wheel must carry: the package and the data folders it reads (tests/ and eval/ stay behind).
SHIPPED = {"coach": "coach", "knowledge": "coach/_data/knowledge", "prompts": "coach/_data/prompts",
           "web/templates": "coach/_data/web/templates", "web/static": "coach/_data/web/static"}
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", "build", "dist", "data", "*.egg-info", "__pycache__", ".*_cache")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; its site-packages."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCES)  # building writes build/ and *.egg-info into the sources
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(work / "dist"), str(source)])
    wheel = next((work / "dist").glob("coach-*.whl"))
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=False)
    site_packages = Path(sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)}))
    # The dependencies come from this interpreter, as plain paths after the venv's own: coach is the wheel's,
    # and the .pth files there (this checkout's editable install among them) are not run.
    dependencies = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site_packages / "_dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install", "--quiet", "--no-deps",
          "--ignore-installed", str(wheel)])
    return site_packages


@pytest.fixture
def outside(tmp_path) -> tuple[Path, dict[str, str]]:
    """A working folder outside the checkout and an environment with nothing pointing back into it."""
    keep = {name: value for name, value in os.environ.items()
            if not name.startswith(("COACH_", "OPENAI_")) and name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return tmp_path, {**keep, "COACH_DATA_DIR": str(tmp_path / "data")}


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, **kwargs)
    assert done.returncode == 0, f"{command[:4]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def _coach(installed: Path) -> str:
    return str(installed.parents[2] / "bin" / "coach")


def test_the_wheel_carries_every_file_of_the_package_and_its_data_folders(installed):
    for folder, packaged in SHIPPED.items():
        files = {path.relative_to(REPO / folder) for path in (REPO / folder).rglob("*")
                 if path.is_file() and "__pycache__" not in path.parts}
        missing = sorted(str(path) for path in files if not (installed / packaged / path).is_file())
        assert files and not missing, f"{folder}/ files not in the wheel: {missing[:10]}"


def test_knowledge_check_and_grade_run_from_the_installed_wheel(installed, outside):
    folder, env = outside
    python = str(installed.parents[2] / "bin" / "python")
    where = _run([python, "-c", "import coach; print(coach.__file__)"], cwd=folder, env=env).stdout
    assert Path(where.strip()).is_relative_to(installed)

    assert "knowledge ok" in _run([_coach(installed), "knowledge", "check"], cwd=folder, env=env).stdout

    answers = folder / "answers.jsonl"
    answers.write_text(json.dumps({
        "stage": "technical", "question": "What is the difference between authentication and authorization?",
        "answer": "Authentication checks who you are, with a password or a token; authorization decides what you may do.",
    }) + "\n")
    graded = [json.loads(line) for line in _run([_coach(installed), "grade", str(answers)], cwd=folder, env=env).stdout.splitlines()]
    assert len(graded) == 1 and graded[0]["grade"]["scorer"] == "offline" and 1.0 <= graded[0]["grade"]["overall"] <= 5.0


def test_serve_from_the_installed_wheel_serves_pages_assets_and_the_api_docs(installed, outside):
    folder, env = outside
    port = _free_port()
    server = subprocess.Popen([_coach(installed), "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=folder, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            home = _wait_until_serving(client, server)
            assert home.status_code == 200 and "text/html" in home.headers["content-type"]
            assert _local_assets(client, "/", base, ["link"]), "the start page links no stylesheet"
            for docs_page in ("/docs", "/redoc"):
                assert _local_assets(client, docs_page, base, ["script"]), f"{docs_page} loads no script"
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "Traceback" not in output, output


def _local_assets(client: httpx.Client, page: str, base: str, tags: list[str]) -> list[str]:
    """Fetch every script and stylesheet `page` loads: each comes from this server and is found."""
    response = client.get(page)
    assert response.status_code == 200, f"{page}: {response.status_code}"
    soup = BeautifulSoup(response.text, "html.parser")
    urls = [urljoin(base, tag.get("src") or tag.get("href")) for tag in soup.find_all(tags) if tag.get("src") or tag.get("href")]
    for url in urls:
        assert urlsplit(url).netloc == urlsplit(base).netloc, f"{page} loads {url} from another host"
        asset = client.get(url)
        assert asset.status_code == 200 and asset.content, f"{page}: {url} answered {asset.status_code}"
    return urls


def _wait_until_serving(client: httpx.Client, server: subprocess.Popen, budget_seconds: float = 120) -> httpx.Response:
    deadline = time.monotonic() + budget_seconds  # generous: two cores shared with other test runs
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"coach serve exited {server.returncode}:\n{server.communicate()[0]}")
        try:
            return client.get("/")
        except httpx.TransportError:
            time.sleep(0.25)
    pytest.fail(f"coach serve did not answer within {budget_seconds} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
