"""Text handling for grading interview answers: units kept verbatim, terms matched at word starts.

An answer is cut into units an interviewer would hear as one piece: prose sentences, and code
blocks kept whole (a dot in `self.data.move_to_end` never ends a sentence). Text hidden in HTML or
Markdown comments is set aside: nobody listening to the answer would hear it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

_WORD = re.compile(r"[a-z0-9][a-z0-9'+#-]*")
_FENCE = re.compile(r"```[^\n]*\n.*?(?:```|\Z)", re.DOTALL)
_HIDDEN = re.compile(r"<!--.*?(?:-->|\Z)|^\s*\[//\]:\s*#\s*[(\"'].*$", re.DOTALL | re.MULTILINE)
# A sentence ends at . ! or ? followed by white space, unless the dot closes a common abbreviation.
_SENTENCE_END = re.compile(r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bvs\.)(?<=[.!?])\s+|\n+")
_CODE_START = re.compile(
    r"^\s*(def |class |return\b|import |from \w[\w.]* import|if .*:$|elif |else:|for .*:$|while .*:$|try:|"
    r"except\b|with .*:$|@\w|select\b|insert into|update \w+ set|delete from|create (table|index|unique)|"
    r"alter table|function\b|const |let |var |public |private |func |package |#include|\}|\{)",
    re.IGNORECASE,
)
_CODE_END = re.compile(r"[;{}]\s*$|\):\s*$|^\s*\)\s*;?\s*$")
_CODE_SYMBOLS = re.compile(r"[(){}\[\]=;<>]|\w\.\w+\(|->|=>|==|\+=")

# Common English function words: natural sentences are full of them, lists and term salad are not.
STOPWORDS = frozenset(
    "a an the and or but of to in on at for from by with as is are was were be been being it its this that "
    "these those there here i we you he she they me us our my your their them what which who when where why "
    "how so if then than not no do does did have has had can could would should will shall may might must "
    "about into over under after before up out all any some each more most such only also just very one two "
    "first then because while until once again both few other same own too s t don't didn't isn't it's i'm "
    "i've i'd we're we've that's doesn't wasn't aren't haven't won't can't".split()
)
# Stop words of the languages an answer most often arrives in instead of English.
FOREIGN_STOPWORDS = {
    "de": frozenset("und der die das ist nicht ich wir mit für eine ein auf den dem zu auch sich es wird "
                    "haben oder aber wenn dass bei nach".split()),
    "es": frozenset("el la los las que de y en un una es por con para como pero del lo se mi su al más "
                    "muy también durante".split()),
    "fr": frozenset("le la les et est un une des du que qui dans pour pas sur avec ce je nous mais ou "
                    "très aussi".split()),
    "pt": frozenset("o a os as que de e em um uma é não para com por mas do da dos também muito".split()),
    "it": frozenset("il lo la gli le che di e è un una per non con del della ma anche sono molto".split()),
    "nl": frozenset("de het een en van ik is niet dat op te met voor maar ook zijn wij".split()),
}
_SCRIPTS = (
    ("ru", re.compile(r"[\u0400-\u04ff]")), ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ja", re.compile(r"[\u3040-\u30ff]")), ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")), ("he", re.compile(r"[\u0590-\u05ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")), ("hi", re.compile(r"[\u0900-\u097f]")),
)
LANGUAGE_NAMES = {
    "en": "English", "de": "German", "es": "Spanish", "fr": "French", "pt": "Portuguese", "it": "Italian",
    "nl": "Dutch", "ru": "Russian (or another Cyrillic-script language)", "zh": "Chinese", "ja": "Japanese",
    "ko": "Korean", "ar": "Arabic", "he": "Hebrew", "el": "Greek", "hi": "Hindi",
}


@dataclass(frozen=True)
class Unit:
    """One piece of an answer: a prose sentence or a whole code block, verbatim."""

    text: str
    is_code: bool
    lowered: str
    tokens: tuple[str, ...]
    memo: dict = field(default_factory=dict, compare=False, hash=False, repr=False)  # per-answer lookups

    @property
    def stopword_ratio(self) -> float:
        return sum(t in STOPWORDS for t in self.tokens) / len(self.tokens) if self.tokens else 0.0

    @cached_property
    def prefixes(self) -> dict[str, int]:
        """Every prefix of every token, with the index of the first token it starts: a term that is a
        plain word matches here by one dictionary lookup instead of a regular-expression scan."""
        found: dict[str, int] = {}
        for index, token in enumerate(self.tokens):
            for end in range(1, len(token) + 1):
                found.setdefault(token[:end], index)
        return found

    @cached_property
    def telegraphic(self) -> bool:
        return is_telegraphic(self)

    @cached_property
    def explains(self) -> bool:
        """Code, or a sentence that reasons (see `is_explanatory`)."""
        return self.is_code or _reasons(self)


def visible_text(text: str) -> tuple[str, list[str]]:
    """The answer without HTML/Markdown comments outside code, and the hidden passages it had."""
    hidden: list[str] = []
    pieces, last = [], 0
    for fence in _FENCE.finditer(text):
        pieces.append(_strip_hidden(text[last:fence.start()], hidden))
        pieces.append(fence.group(0))
        last = fence.end()
    pieces.append(_strip_hidden(text[last:], hidden))
    return "".join(pieces), hidden


def _strip_hidden(text: str, hidden: list[str]) -> str:
    hidden.extend(m.group(0) for m in _HIDDEN.finditer(text))
    return _HIDDEN.sub(" ", text)


def units(text: str) -> list[Unit]:
    """The answer's units in order: fenced or indented code blocks whole, prose cut into sentences."""
    found: list[Unit] = []
    last = 0
    for fence in _FENCE.finditer(text):
        found.extend(_prose_and_bare_code(text[last:fence.start()]))
        found.append(_unit(fence.group(0).strip(), True))
        last = fence.end()
    found.extend(_prose_and_bare_code(text[last:]))
    return [u for u in found if u.text]


def _prose_and_bare_code(text: str) -> list[Unit]:
    """Runs of code-looking lines become one code unit; the rest is split into sentences."""
    result: list[Unit] = []
    code: list[str] = []
    prose: list[str] = []
    for line in text.split("\n"):
        if _looks_like_code(line) or (code and (line.startswith((" ", "\t")) and line.strip())):
            if prose:
                result.extend(_sentences("\n".join(prose)))
                prose = []
            code.append(line)
        else:
            if code:
                result.append(_unit("\n".join(code).strip(), True))
                code = []
            prose.append(line)
    if code:
        result.append(_unit("\n".join(code).strip(), True))
    if prose:
        result.extend(_sentences("\n".join(prose)))
    return result


def _looks_like_code(line: str) -> bool:
    stripped = line.strip()
    if not stripped:
        return False
    if _CODE_START.match(line) or _CODE_END.search(stripped):
        return len(_CODE_SYMBOLS.findall(stripped)) >= 1 or stripped.endswith(":") or stripped in "{}"
    if line.startswith(("    ", "\t")):
        return len(_CODE_SYMBOLS.findall(stripped)) >= 2
    return False


def _sentences(text: str) -> list[Unit]:
    return [_unit(piece.strip(), False) for piece in _SENTENCE_END.split(text) if piece and piece.strip()]


def _unit(text: str, is_code: bool) -> Unit:
    lowered = text.lower()
    return Unit(text=text, is_code=is_code, lowered=lowered, tokens=tuple(_WORD.findall(lowered)))


_PLAIN_TERM = re.compile(r"[a-z0-9][a-z0-9'+#-]*")


class TermIndex:
    """A set of terms matched at word starts, as `term_pattern` does: plain one-word terms through a
    unit's token prefixes, the rest (phrases, symbols) through one regular expression."""

    def __init__(self, terms: tuple[str, ...]):
        lowered = {t.lower() for t in terms if t}
        self.plain = frozenset(t for t in lowered if _PLAIN_TERM.fullmatch(t))
        self.other = any_term_pattern(tuple(sorted(lowered - self.plain)))

    def found(self, unit: Unit) -> dict[str, int | None]:
        """The terms the unit names, each with the index of the token it starts at (None for phrases)."""
        prefixes = unit.prefixes
        hits: dict[str, int | None] = {t: prefixes[t] for t in self.plain if t in prefixes} if len(
            self.plain) < len(prefixes) else {p: i for p, i in prefixes.items() if p in self.plain}
        if self.other is not None:
            for match in self.other.finditer(unit.lowered):
                hits.setdefault(match.group(0), None)
        return hits

    def any_in(self, unit: Unit) -> bool:
        prefixes = unit.prefixes
        if (len(self.plain) < len(prefixes) and any(t in prefixes for t in self.plain)) or (
                len(self.plain) >= len(prefixes) and any(p in self.plain for p in prefixes)):
            return True
        return self.other is not None and self.other.search(unit.lowered) is not None


@lru_cache(maxsize=8192)
def term_index(terms: tuple[str, ...]) -> TermIndex:
    return TermIndex(terms)


def as_unit(text: str) -> Unit:
    """Any text as one prose unit, to match terms over a whole answer at once."""
    return _unit(text, False)


def sentences(text: str) -> list[str]:
    """The answer's units as verbatim strings (code blocks whole)."""
    return [u.text for u in units(text)]


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def language_of(prose: str) -> str:
    """A two-letter guess at the language of prose: 'en' unless another language clearly dominates."""
    if prose.isascii():
        return _latin_language(prose)
    letters = [c for c in prose if c.isalpha()]
    if not letters:
        return "en"
    for code, script in _SCRIPTS:
        if len(script.findall(prose)) > 0.4 * len(letters):
            return code
    return _latin_language(prose)


def _latin_language(prose: str) -> str:
    tokens = words(prose)
    if len(tokens) < 4:
        return "en"
    english = sum(t in STOPWORDS for t in tokens)
    best, best_count = "en", english
    for code, stops in FOREIGN_STOPWORDS.items():
        count = sum(t in stops for t in tokens)
        if count > best_count * 1.5 and count >= 0.12 * len(tokens):
            best, best_count = code, count
    return best


@lru_cache(maxsize=4096)
def term_pattern(term: str) -> re.Pattern:
    """A term matches at a word start, so 'index' also matches 'indexes' and 'indexing'."""
    return re.compile(r"(?<![a-z0-9])" + re.escape(term.lower()))


def mentions(text: str, term: str) -> bool:
    return term_pattern(term).search(text.lower()) is not None


def hits(text: str, terms: list[str]) -> list[str]:
    lowered = text.lower()
    return [t for t in terms if term_pattern(t).search(lowered)]


@lru_cache(maxsize=8192)
def any_term_pattern(terms: tuple[str, ...]) -> re.Pattern | None:
    """One pattern that matches where any of the terms matches (as `term_pattern`), None for no terms."""
    if not terms:
        return None
    alternatives = "|".join(re.escape(t.lower()) for t in sorted(set(terms), key=len, reverse=True))
    return re.compile(r"(?<![a-z0-9])(?:" + alternatives + ")")


def mentions_any(lowered: str, terms: tuple[str, ...]) -> bool:
    """True if `lowered` (already lower-cased) names any of the terms: `bool(hits(text, terms))`, faster."""
    pattern = any_term_pattern(terms)
    return pattern is not None and pattern.search(lowered) is not None


# Words that join reasons, conditions and consequences: what an explanation has and a list lacks.
EXPLAINERS = (
    "because", "so that", "which", "when", "since", "means", "allows", "lets", "if ", "instead",
    "but ", "however", "while", "for example", "e.g.", "such as", "therefore", "otherwise",
    "trade-off", "tradeoff", "so we", "so i", "so the", "by ", "to avoid", "in order to", "unless",
    "then ", "whereas", "rather than", "after ", "like ", "without", "each ", "every ", "until", "once ",
    ": ", "; ", " - ", "so ",
)


def is_explanatory(sentence: str) -> bool:
    """A sentence that reasons rather than names: a real sentence, long or with a connective.

    Term salad ("sharding because ACID which means consistency") has the connectives but almost none
    of the small words every real English sentence is made of, so it never counts."""
    return _reasons(_unit(sentence, False))


def _reasons(unit: Unit) -> bool:
    if len(unit.tokens) < 7 or unit.telegraphic:
        return False
    lowered = f" {unit.lowered} "
    return len(unit.tokens) >= 12 or any(e in lowered for e in EXPLAINERS)


def is_telegraphic(unit: Unit) -> bool:
    """A run of terms without the function words of a sentence: a list, or terms chained by connectives.

    A short terse sentence ("Queues decouple services.") is not one: it takes length, or list shape."""
    if unit.is_code:
        return False
    content = [t for t in unit.tokens if t not in _CONNECTIVES]
    if len(unit.tokens) < 6 or not content:
        return False
    ratio = sum(t in STOPWORDS for t in content) / len(content)
    return (len(unit.tokens) >= 10 and ratio < 0.12) or (is_list(unit.text) and ratio < 0.2)


def is_list(text: str) -> bool:
    """Five or more comma-separated items, most of them three words or fewer."""
    items = [part for part in re.split(r"[,;\n]| and ", text) if part.strip()]
    short = [part for part in items if len(words(part)) <= 3]
    return len(items) >= 5 and len(short) >= 0.7 * len(items)


_CONNECTIVES = frozenset({"because", "which", "means", "so", "therefore", "thus", "hence", "and", "then"})
