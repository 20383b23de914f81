"""The prompts: Jinja2 templates in prompts/ (or COACH_PROMPTS_DIR), rendered as plain text, versioned by their text.

Templates are compiled once per process (no file checks per render: they do not change while
serving). `check` renders every template the way the interviewer and the judge do, at start-up
and in `coach knowledge check`, so a broken template stops the app with its name and line instead
of every LLM call failing over to the offline interviewer in silence.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from coach.config import get_settings


class PromptError(Exception):
    """A template does not parse or does not render with the values its caller gives."""


def prompts_dir() -> Path:
    """The folder of this process's settings: the prompts are one set per process, like its models."""
    return get_settings().prompts_dir


@lru_cache
def environment(directory: Path) -> jinja2.Environment:
    # Plain text, not HTML: no autoescape. A variable the template uses but is not given raises.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory), undefined=jinja2.StrictUndefined, auto_reload=False,
        autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
    )


def render(template: str, **values: Any) -> str:
    """Render prompts/<template>; a variable the template uses but is not given raises."""
    return environment(prompts_dir()).get_template(template).render(**values).strip()


def version(*templates: str, extra: str = "") -> str:
    """A short hash of the templates' text (and `extra`), stored with every grade."""
    digest = hashlib.sha256(extra.encode())
    for name in templates:
        digest.update((prompts_dir() / name).read_bytes())
    return digest.hexdigest()[:12]


def strip_boundary(text: str, boundary: str) -> str:
    """`text` with every occurrence of the boundary (any case) removed, so quoted candidate text cannot
    close the block it is quoted in."""
    if boundary.lower() not in text.lower():  # nearly always: no pattern to compile for a fresh nonce
        return text
    return re.sub(re.escape(boundary), "", text, flags=re.IGNORECASE)


def template_names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.glob("*.j2"))


def check(renderings: list[tuple[str, Any]]) -> None:
    """Every template parses, and each (label, render) pair renders; raise PromptError naming the failures."""
    problems = []
    directory = prompts_dir()
    for name in template_names(directory):
        try:
            environment(directory).get_template(name)
        except jinja2.TemplateError as exc:
            problems.append(f"{directory / name}: {exc}")
    for label, render_one in renderings:
        try:
            render_one()
        except (jinja2.TemplateError, KeyError, AttributeError, TypeError) as exc:
            problems.append(f"{label}: {type(exc).__name__}: {exc}")
    if problems:
        raise PromptError("\n".join(problems))
