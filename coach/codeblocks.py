"""Candidate answers as prose and code: fenced blocks (``` or ~~~, with an optional language) and
Markdown-style indented blocks are code; everything else is prose.

Every place that shows an answer (chat, report, reviewer transcript, Markdown export, terminal)
splits it here, so a code answer reads as code everywhere and its text is never changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
_INDENTED = re.compile(r"^(?: {4}|\t)")


@dataclass(frozen=True)
class Segment:
    kind: str  # "prose" | "code"
    text: str
    language: str = ""  # from the fence's info string, lower-cased; "" when not given


def split_code(text: str) -> list[Segment]:
    """The answer in order as prose and code segments; joining their texts gives back the answer
    without its fence lines. An unclosed fence runs to the end (as CommonMark reads it)."""
    segments: list[Segment] = []
    prose: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence:
            end = _closing(lines, i + 1, fence.group("fence"))
            _flush(segments, prose)
            info = fence.group("info").strip().split()
            segments.append(Segment("code", "\n".join(lines[i + 1:end]), info[0].lower() if info else ""))
            i = end + 1
        elif _INDENTED.match(lines[i]) and (not prose or not prose[-1].strip()) and lines[i].strip():
            end = _indented_end(lines, i)
            _flush(segments, prose)
            segments.append(Segment("code", "\n".join(_dedent(line) for line in lines[i:end]).rstrip("\n")))
            i = end
        else:
            prose.append(lines[i])
            i += 1
    _flush(segments, prose)
    return segments


def has_code(text: str) -> bool:
    return any(s.kind == "code" for s in split_code(text))


def lexer_for(language: str):
    """Pygments' lexer for a fence's language; plain text for one it does not know."""
    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return get_lexer_by_name("text")


_LANGUAGE_HINTS = (  # cheap and predictable; Pygments' own guess_lexer tries every lexer it has
    ("sql", re.compile(r"^\s*(select|insert|update|delete|create table|with)\b", re.I | re.M)),
    ("python", re.compile(r"^\s*(def |class |import |from \w+ import |@\w+|async def )", re.M)),
    ("go", re.compile(r"^\s*(func |package )", re.M)),
    ("java", re.compile(r"\b(public|private|protected) (static )?(class|void|int|String)\b")),
    ("javascript", re.compile(r"\b(function|const|let|=>|console\.)\b|=>")),
    ("json", re.compile(r"^\s*[\[{]\s*\"", re.S)),
    ("bash", re.compile(r"^\s*(\$ |curl |pip |npm |docker |git )", re.M)),
)


def guess_language(code: str) -> str:
    """The language of an unlabelled code block, from a few telling patterns; "text" if none fits."""
    return next((name for name, pattern in _LANGUAGE_HINTS if pattern.search(code)), "text")


def _closing(lines: list[str], start: int, fence: str) -> int:
    """Index of the line closing `fence` (same character, at least as long), or len(lines)."""
    closer = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
    return next((j for j in range(start, len(lines)) if closer.match(lines[j])), len(lines))


def _indented_end(lines: list[str], start: int) -> int:
    """An indented block runs over indented and blank lines, and ends before trailing blank lines."""
    end = start
    for j in range(start, len(lines)):
        if _INDENTED.match(lines[j]):
            end = j + 1
        elif lines[j].strip():
            break
    return end


def _dedent(line: str) -> str:
    return line[1:] if line.startswith("\t") else line[4:]


def _flush(segments: list[Segment], prose: list[str]) -> None:
    text = "\n".join(prose).strip("\n")
    if text.strip():
        segments.append(Segment("prose", text))
    prose.clear()
