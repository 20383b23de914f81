"""The one Jinja2 environment every HTML page renders with: autoescape on, strict, shared filters."""

from __future__ import annotations

from functools import lru_cache

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markdown_it import MarkdownIt
from markupsafe import Markup, escape
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter

from coach.codeblocks import guess_language, lexer_for, split_code
from coach.resources import WEB_DIR

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


def answer_html(text: str, quotes=(), mistakes=()) -> Markup:
    """A candidate's answer: prose escaped with its quotes marked (see `highlight`), code blocks
    (fenced or indented) as highlighted, monospaced code. The candidate's text is never HTML."""
    segments = split_code(text)
    if not any(s.kind == "code" for s in segments):
        return highlight(text, quotes, mistakes)
    parts = [
        code_html(s.text, s.language) if s.kind == "code"
        else Markup('<div class="prose">{}</div>').format(highlight(s.text, quotes, mistakes))
        for s in segments
    ]
    return Markup("").join(parts)


_CODE_FORMATTER = HtmlFormatter(cssclass="code", wrapcode=True)


@lru_cache(maxsize=512)
def code_html(code: str, language: str = "") -> Markup:
    """Code highlighted by Pygments, which escapes it; the language from the fence, else guessed."""
    language = language or guess_language(code)
    html = pygments_highlight(code, lexer_for(language), _CODE_FORMATTER)
    return Markup('<div class="code-block" data-language="{}">').format(language) + Markup(html) + Markup("</div>")


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
        markdown=markdown_to_html, highlight=highlight, answer=answer_html, scorer_label=scorer_label, score=score_text, when=when
    )
    env.globals["signal_names"] = {"strong_yes": "Strong yes", "yes": "Yes", "no": "No", "strong_no": "Strong no"}
    return env


templates = Jinja2Templates(env=_environment())
