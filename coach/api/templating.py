"""The one Jinja2 environment every HTML page renders with: autoescape on, strict, shared filters."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

WEB_DIR = Path(__file__).resolve().parents[2] / "web"

# No raw HTML, and no images: an LLM could be steered into loading an outside address.
_markdown = MarkdownIt("commonmark", {"html": False}).disable("image")


# --- template filters -----------------------------------------------------------------------


def markdown_to_html(text: str | None) -> Markup:
    """Interviewer text as Markdown; raw HTML is not allowed, so the output is safe."""
    return Markup(_markdown.render(text or ""))


def highlight(text: str, quotes=(), mistakes=()) -> Markup:
    """`text` escaped, with every exact occurrence of a quote wrapped in <mark>.

    Matches are found on the raw text and each piece is escaped on its own, which is the
    same as escaping first and marking the escaped quotes, without entities split by a mark.
    """
    spans = sorted(_occurrences(text, quotes, "evidence") + _occurrences(text, mistakes, "mistake"))
    out, position = [], 0
    for start, end, kind in spans:
        if start < position:  # overlaps a span already marked
            start = position
        if start >= end:
            continue
        out.append(escape(text[position:start]))
        out.append(Markup('<mark class="{}">{}</mark>').format(kind, text[start:end]))
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)


def _occurrences(text: str, quotes, kind: str) -> list[tuple[int, int, str]]:
    found = []
    for quote in {q.strip() for q in quotes if q and q.strip()}:
        start = text.find(quote)
        while start != -1:
            found.append((start, start + len(quote), kind))
            start = text.find(quote, start + len(quote))
    return found


def scorer_label(grade) -> str:
    if grade.scorer == "llm":
        return f"LLM ({grade.model})" if grade.model else "LLM"
    if grade.scorer == "offline-fallback":
        return "offline rubric scorer (the LLM was unavailable)"
    return "offline rubric scorer"


def score_text(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "–"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(WEB_DIR / "templates"), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(
        markdown=markdown_to_html, highlight=highlight, scorer_label=scorer_label, score=score_text, when=when
    )
    env.globals["signal_names"] = {"strong_yes": "Strong yes", "yes": "Yes", "no": "No", "strong_no": "Strong no"}
    return env


templates = Jinja2Templates(env=_environment())
