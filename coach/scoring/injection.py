"""Spotting answers that try to instruct the grader. Shared by every scorer.

Normalise, then detect: the answer is first turned into plain lower-case text the way a reader
(or a model) would understand it: NFKC, invisible format characters (zero-width, bidi controls,
soft hyphens) removed, diacritics dropped, Cyrillic and Greek lookalikes folded to Latin, HTML
entities decoded, markup that splits words removed, letters written apart joined, digits used as
letters read as letters, and base64 / hex / %-encoded runs decoded when they decode to text.
Every detector runs on every normalised view, and each hit is quoted from the *original* answer
(each normalised character remembers where it came from), so the quote is verbatim.

Detectors cover role markers and chat-template tokens, fake grade objects, demands for a score,
instructions to forget the rules, text addressed to the grader, and role-play, in English,
Russian, German, French and Spanish. A generic phrase ("ignore previous instructions", a ChatML
token) quoted in a sentence that *discusses* attacks is a mention, not an attack; a demand for
a score is never a mention.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import unquote_to_bytes

from coach.scoring.literals import Requirement, admits, required_literals

# --- normalising -------------------------------------------------------------------------------

# Lookalikes a reader sees as Latin letters (a subset of Unicode TR39 confusables: the ones that
# matter for Latin-script words). Applied inside Latin words always, everywhere in the "folded" view.
CONFUSABLES = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "ӏ": "l", "һ": "h", "ɡ": "g", "ı": "i", "ʟ": "l", "ᴄ": "c", "ᴏ": "o", "ᴠ": "v", "ᴡ": "w", "ᴢ": "z",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ς": "s", "μ": "u", "ϲ": "c", "ϳ": "j",
})
_CONFUSABLE = re.compile("[" + "".join(chr(k) for k in CONFUSABLES) + "]")
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
# Invisible characters that are not Unicode "format" (Cf) characters but hide text all the same.
_INVISIBLE = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u180e", "\u2800"}


@dataclass(frozen=True)
class View:
    """A normalised text; `starts[i]`/`ends[i]` give the original span of character i."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        return min(self.starts[start:end]), max(self.ends[start:end])


def _substitute(view: View, pattern: re.Pattern, replace) -> View:
    """Replace each match by `replace(match)`; new characters span the whole original of the match.

    `replace` may also return a list of (text, start, end) pieces in view positions, which keeps
    finer origins (used when joining split letters)."""
    matches = list(pattern.finditer(view.text))
    if not matches:  # the usual case: nothing to undo, the view as it is
        return view
    text: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    for match in matches:
        text.append(view.text[last:match.start()])
        starts += view.starts[last:match.start()]
        ends += view.ends[last:match.start()]
        new = replace(match)
        if isinstance(new, str):
            new = [(new, match.start(), match.end())]
        for piece, lo, hi in new:
            if not piece or hi <= lo:
                continue
            span = view.original_span(lo, hi)
            text.append(piece)
            starts += [span[0]] * len(piece)
            ends += [span[1]] * len(piece)
        last = match.end()
    text.append(view.text[last:])
    starts += view.starts[last:]
    ends += view.ends[last:]
    return View("".join(text), tuple(starts), tuple(ends))


def _plain_char(ch: str) -> str:
    """One character as a reader sees it: compatibility form, no accents, lower case; '' if invisible."""
    if 0xE0020 <= ord(ch) <= 0xE007E:  # Unicode tag characters: invisible ASCII ("ASCII smuggling")
        return chr(ord(ch) - 0xE0000).lower()
    if ch in _INVISIBLE or unicodedata.category(ch) == "Cf":
        return ""
    if ch.isascii():
        return ch.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", ch))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _plain(text: str) -> View:
    if text.isascii() and not _TAG_CHARS_OR_INVISIBLE.search(text):
        return View(text.lower(), tuple(range(len(text))), tuple(range(1, len(text) + 1)))
    out, starts, ends = [], [], []
    for index, ch in enumerate(text):
        plain = ch.lower() if ch.isascii() else _plain_char(ch)
        out.append(plain)
        starts += [index] * len(plain)
        ends += [index + 1] * len(plain)
    return View("".join(out), tuple(starts), tuple(ends))


_TAG_CHARS_OR_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # ASCII controls: Cf-like, dropped
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,8});", re.IGNORECASE)
_WORD_RUN = re.compile(r"\w+")
_TAGS = re.compile(r"(?:<!--|-->|<(?![|!])/?[a-z][^<>]{0,300}>)+")
_WORD_SPLITTING_MARKUP = re.compile(r"(?<=\w)(?:[*_~`]+|\\(?=\w))(?=\w)")
# Single letters with one to three separators between them: "i g n o r e", "i.g.n.o.r.e".
_SPLIT_LETTERS = re.compile(r"(?<!\w)(?:\w[ .\-_*|/\\·•\n]{1,3}){3,}\w(?!\w)")
_LEET_WORD = re.compile(r"(?<![\w@$])(?=[\w@$!]*[a-z])(?=[\w@$!]*[0134579@$])[\w@$!]{2,15}(?![\w@$])")


def _fold_confusables(view: View, *, everywhere: bool) -> View:
    def fold(match: re.Match) -> str:
        word = match.group(0)
        if everywhere or re.search(r"[a-z]", word):
            return word.translate(CONFUSABLES)
        return word

    if not _CONFUSABLE.search(view.text):
        return view
    return _substitute(view, _WORD_RUN, fold)


def _join_letters(match: re.Match) -> list[tuple[str, int, int]]:
    """'i g n o r e  a l l' -> 'ignore all': a wide gap or a slash between letters is a word break."""
    pieces = []
    for part in re.finditer(r"\w|[ .\-_*|/\\·•\n]+", match.group(0)):
        lo, hi = match.start() + part.start(), match.start() + part.end()
        if part.group(0).isalnum() or part.group(0) == "_":
            pieces.append((part.group(0), lo, hi))
        elif "  " in part.group(0) or "/" in part.group(0):
            pieces.append((" ", lo, hi))
    return pieces


def _tag_gap(match: re.Match) -> str:
    """Tags inside a word ("ig<b></b>nore") vanish; elsewhere they leave a space."""
    text, start, end = match.string, match.start(), match.end()
    inside = 0 < start and end < len(text) and text[start - 1].isalnum() and text[end].isalnum()
    return "" if inside else " "


def _unmarked(view: View) -> View:
    """Markup and spacing tricks undone: tags, comment delimiters, split words, leetspeak."""
    view = _substitute(view, _TAGS, _tag_gap)
    view = _substitute(view, _WORD_SPLITTING_MARKUP, lambda m: "")
    view = _substitute(view, _SPLIT_LETTERS, _join_letters)
    return _substitute(view, _LEET_WORD, lambda m: m.group(0).translate(LEET))


def _decoded_entities(text: str) -> View:
    return _substitute(_plain(text), _ENTITY, lambda m: _plain(html.unescape(m.group(0))).text)


def normalised_views(text: str) -> list[View]:
    """The views every detector runs on, each mapping back to `text`."""
    base = _decoded_entities(text)
    mixed = _fold_confusables(base, everywhere=False)
    folded = _fold_confusables(base, everywhere=True)
    # Folding everywhere changes nothing unless a lookalike stands outside a Latin word.
    unfolded = (mixed, _unmarked(mixed)) if folded == mixed else (mixed, _unmarked(mixed), folded, _unmarked(folded))
    views: dict[str, View] = {}
    for view in unfolded:
        views.setdefault(view.text, view)  # most answers have one view: nothing to undo
    return list(views.values())


def normalise(text: str) -> str:
    """The answer as detectors read it (markup and tricks undone)."""
    return _unmarked(_fold_confusables(_decoded_entities(text), everywhere=False)).text


# --- decoding hidden runs ------------------------------------------------------------------

_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX_RUN = re.compile(r"(?:(?:0x|\\x)?[0-9a-fA-F]{2}[\s:,]?){8,}")
_PERCENT_RUN = re.compile(r"(?:%[0-9a-fA-F]{2}){4,}")


def _as_text(data: bytes) -> str | None:
    """Decoded bytes that read as text (mostly printable, with words), else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for c in text if c.isprintable() or c in "\n\t")
    if not text or printable / len(text) < 0.95 or not re.search(r"[^\W\d_]{3,}", text):
        return None
    return text


def _decode_base64(run: str) -> bytes | None:
    try:
        padded = run + "=" * (-len(run) % 4)
        if "-" in run or "_" in run:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _decode_hex(run: str) -> bytes | None:
    digits = re.sub(r"0x|\\x|[\s:,]", "", run)
    try:
        return bytes.fromhex(digits) if len(digits) % 2 == 0 else None
    except ValueError:
        return None


# Words an instruction is made of, as they look reversed or in ROT13: a line holding one is read
# that way too.
_REVERSED_CUES = re.compile(r"erongi|snoitcurtsni|erocs|edarg|redarg|tpmorp|cirbur", re.IGNORECASE)
_ROT13_CUES = re.compile(r"\b(?:vtaber|vafgehpgvbaf?|fpber|tenqr|tenqre|ehoevp|cebzcg|qvfertneq)\b", re.IGNORECASE)


def _rewritten_lines(text: str) -> list[tuple[int, int, str]]:
    """Lines written backwards or in ROT13, read forwards."""
    found: list[tuple[int, int, str]] = []
    if not (_REVERSED_CUES.search(text) or _ROT13_CUES.search(text)):  # no line can hold a cue
        return found
    for line in re.finditer(r"[^\n]+", text):
        if _REVERSED_CUES.search(line.group(0)):
            found.append((line.start(), line.end(), line.group(0)[::-1]))
        if _ROT13_CUES.search(line.group(0)):
            found.append((line.start(), line.end(), codecs.encode(line.group(0), "rot13")))
    return found


def decoded_runs(text: str) -> list[tuple[int, int, str]]:
    """(start, end, decoded text) for each base64, hex or %-encoded run of `text` that is text,
    and each line written backwards or in ROT13."""
    found = _rewritten_lines(text)
    for pattern, decode in ((_BASE64_RUN, _decode_base64), (_HEX_RUN, _decode_hex),
                            (_PERCENT_RUN, unquote_to_bytes)):
        for match in pattern.finditer(text):
            data = decode(match.group(0).strip())
            decoded = _as_text(data) if data else None
            if decoded and decoded.strip() != match.group(0).strip():
                found.append((match.start(), match.end(), decoded))
    return found


# --- detectors -----------------------------------------------------------------------------


def _strip_accents(pattern: str) -> str:
    """Patterns are written with accents for readability; text is matched without them."""
    return "".join(c for c in unicodedata.normalize("NFKD", pattern) if not unicodedata.combining(c))


# What a demand for a high grade asks for. A bare 5 must not be a quantity ("5 minutes").
_NOT_A_UNIT = (r"(?!\s*(?:ms|s|sec|seconds?|minutes?|mins?|hours?|h|days?|weeks?|requests?|req|times|x|%|gb|mb|kb|"
               r"users?|items?|replicas?|nodes?|servers?|shards?|years?|people|engineers?|steps?|lines?|stars? on))")
HIGH_GRADE = (
    r"(?:(?<![\w.])(?:5|10)(?:[.,]0)?(?![\w]|[.,]\d)" + _NOT_A_UNIT + r"(?:\s*(?:/|out of|of|из|von|sur|de)\s*(?:5|10))?"
    r"|five" + _NOT_A_UNIT + r"|full (?:marks|score|points|credit)|(?:the |a )?(?:maximum|max|highest|top|best|perfect|maximal)"
    r" (?:score|marks?|grade|rating|level|points|possible|note|result)|perfect|excellent|outstanding|flawless"
    r"|strong(?:ly)? (?:hire|yes|pass)|a\+|top marks"
    # Russian, German, French, Spanish
    r"|пять|пят[её]рк|высш|максимал|наивысш|отличн|funf|volle punktzahl|hochstnote|bestnote|hochste|sehr gut"
    r"|cinq|note maximale|la meilleure note|20 ?/ ?20|cinco|maxim[ao]|sobresaliente|la mejor nota)"
)
GRADER = (
    r"(?:grader|graders|evaluator|examiner|assessor|marker|scorer|judge|grading (?:model|system|ai|bot|engine)"
    r"|a\.?i\.?|llm|language model|gpt(?:-?\d\w*)?|chatgpt|claude|gemini|chatbot|assistant"
    r"|оценщик\w*|проверяющ\w*|экзаменатор\w*|ии|нейросет\w*|бот|модель|ассистент"
    r"|bewerter\w*|prufer\w*|korrektor\w*|ki|assistent\w*"
    r"|correcteur\w*|evaluateur\w*|examinateur\w*|ia|assistant\w*"
    r"|evaluador\w*|calificador\w*|corrector\w*|examinador\w*|asistente)"
)
# A role-play's target: who the grader is asked to become.
ROLE_TARGET = GRADER + (
    r"|lenient|generous|kind|nice|who (?:always|only|never)|unrestricted|dan\b|developer mode|jailbr"
    r"|снисходител\w*|щедр\w*|всегда|nachsichtig\w*|grosszugig\w*|immer|indulgent\w*|genereu\w*|toujours"
    r"|generos[oa]|indulgente|siempre"
)
INSTRUCTION_WORDS = (
    r"(?:ignor|disregard|forget|score|grad(?:e|ing|er)|rate\b|rating|mark|award|assign|evaluat|criteri|rubric"
    r"|instruction|you are|you must|you will|you should|lenient|generous|full marks|maximum|perfect|excellent"
    r"|override|candidate|answer|оцен|балл|инструкц|игнор|bewert|punkt|anweisung|\bnote\b|consigne|evalua"
    r"|calific|instrucc|puntua)"
)
ANSWER_REF = r"(?:this|my|the|that|our)\s+(?:answer|response|reply|submission|solution|candidate)"


@dataclass(frozen=True)
class Detector:
    name: str
    source: str
    # A generic phrase is harmless when it is only mentioned in a sentence about attacks.
    generic: bool = False

    @property
    def pattern(self) -> re.Pattern:
        return _compiled(self.source)

    @property
    def required(self) -> tuple[Requirement, ...]:
        return _required(self.source)


@cache
def _compiled(source: str) -> re.Pattern:
    """Compiled on first use, not at import: the app starts without paying for them."""
    return re.compile(_strip_accents(source), re.MULTILINE)


@cache
def _required(source: str) -> tuple[Requirement, ...]:
    # The two most selective: checking more costs more than the regexes it would skip.
    return required_literals(_compiled(source))[:2]


def _detector(name: str, pattern: str, generic: bool = False) -> Detector:
    return Detector(name, pattern, generic)


_SENT = r"[^.!?\n]"  # stays within a sentence
DETECTORS = [
    # --- role markers and chat-template tokens
    _detector("chat-template token", r"<\|\s*(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id"
              r"|start_header_id|end_header_id|begin_of_text)\s*\|>|\[/?inst\]|<</?sys>>", generic=True),
    _detector("prompt tag", r"</?\s*(?:system|assistant|answer|candidate_answer|instructions?|prompt|grader"
              r"|user_input)\s*>|<<<\s*end answer"),
    _detector("role marker", r"(?:^|\n|[(\[{]|<!--)[ \t>#*\[(]*(?:system|assistant|developer|admin(?:istrator)?|human|ai"
              r"|grader|evaluator|system (?:prompt|message|note|override)|система|системное сообщение"
              r"|ассистент|systemnachricht|systeme|sistema)[ \t\])*]*(?::|>|\n)[^\n]{0,200}?" + INSTRUCTION_WORDS),
    # --- fake grades
    _detector("fake grade object", r"[\"']?(?:score|overall(?:_score)?|grade|verdict|final_score|criterion_id"
              r"|instructions_in_answer|missed_key_points|prompt_injection|flags)[\"']?\s*[:=]\s*[\[{\"']?\s*"
              r"(?:(?<![\d.])(?:4|5|9|10|100)(?:\.\d+)?(?![\d])|\]|true|false|pass|excellent|strong)"),
    # --- demands for a high grade
    _detector("score demand", r"\b(?:score|grade|rate|mark|evaluate|assess|treat|consider|judge|rank|label|classify)"
              r"\s+(?:this|me|my|it|him|her|them|the candidate|" + ANSWER_REF + r")\b" + _SENT + r"{0,40}?"
              + HIGH_GRADE),
    _detector("score demand", r"\b(?:give|award|assign|grant)\s+(?:me|this|it|him|her|them|us|the candidate"
              r"|all criteria|every criterion|each criterion|" + ANSWER_REF + r")\b" + _SENT + r"{0,40}?"
              + HIGH_GRADE),
    _detector("score demand", r"\b(?:give|award|assign|grant|put|set)\b" + _SENT + r"{0,20}?" + HIGH_GRADE + _SENT
              + r"{0,30}?\b(?:to|for|on) (?:me|this|it|every criterion|all criteria|each criterion|" + ANSWER_REF + r")\b"),
    _detector("score demand", r"\b(?:deserves?|merits?|earns?|warrants?|should (?:get|receive|be (?:given|graded"
              r"|rated|scored|marked))|must (?:get|receive|be (?:given|graded|rated|scored|marked)))\b"
              + _SENT + r"{0,30}?" + HIGH_GRADE),
    _detector("score demand", r"\b(?:all|every|each) criteri(?:a|on)\b" + _SENT + r"{0,40}?(?:" + HIGH_GRADE
              + r"|met|satisfied|fulfilled|top level)"),
    _detector("score demand", r"\b(?:score|grade|mark|rating|level|verdict)\b" + _SENT + r"{0,40}?"
              r"\b(?:for|of) " + ANSWER_REF + r"\b" + _SENT + r"{0,20}?\b(?:is|should be|must be|will be|=|:)\s*"
              + HIGH_GRADE),
    _detector("score demand", r"\b(?:output|return|print|respond with|reply with|emit)\b" + _SENT + r"{0,30}?"
              r"\b(?:score|grade|verdict|rating)\b" + _SENT + r"{0,20}?" + HIGH_GRADE),
    _detector("score demand", r"\b(?:поставь|поставьте|ставь|ставьте|дай|дайте|выстав\w*|оцени|оцените|присвой\w*|засчитай\w*)"
              + _SENT + r"{0,50}?" + HIGH_GRADE),
    _detector("score demand", r"\b(?:gib|geben sie|vergib|vergeben sie|bewerte|bewerten sie|benote|benoten sie)\b"
              + _SENT + r"{0,50}?" + HIGH_GRADE),
    _detector("score demand", r"\b(?:donne|donnez|attribue|attribuez|notez|mets|mettez|accorde|accordez)\b|\bnote[sz]?(?:-moi| cette)"
              + _SENT + r"{0,50}?" + HIGH_GRADE),
    _detector("score demand", r"\b(?:dame|dale|dele|deme|ponle|ponme|pon|asigna\w*|califica\w*|puntua\w*|evalua"
              r"|otorga\w*)\b" + _SENT + r"{0,50}?" + HIGH_GRADE),
    _detector("score demand", r"\b(?:заслуживает|verdient|merite|merece|mérite)\b" + _SENT + r"{0,30}?" + HIGH_GRADE),
    _detector("score demand", r"\b(?:grade|score|mark|rate|evaluate|judge|assess)\w*\s+(?:me\s+|this\s+|it\s+|my answer\s+)?"
              r"(?:generously|leniently|favou?rably|kindly|softly)\b|\bbe (?:lenient|generous)\b" + _SENT
              + r"{0,30}?\b(?:grad|scor|mark|rat|evaluat)"),
    # --- instructions to drop the rules
    _detector("override", r"\b(?:ignore|disregard|forget|override|overlook|skip|bypass|discard|neglect|drop)\b"
              + _SENT + r"{0,40}?\b(?:instructions?|prompts?|rubrics?|directions|directives|guidelines|grading"
              r" (?:rules|criteria|guidelines)|(?:previous|prior|above|earlier|preceding|original|your|system"
              r"|grading) (?:rules|criteria|guidance|directions|context|text|messages?))\b", generic=True),
    _detector("override", r"\b(?:игнорир\w*|проигнорир\w*|забудь\w*|забудьте|не обращай\w*|отбрось\w*)"
              + _SENT + r"{0,40}?(?:инструкц|указани|правил|промпт|критери|рубрик)", generic=True),
    _detector("override", r"\b(?:ignorier\w*|vergiss|vergessen sie|missachte\w*|uberschreib\w*)"
              + _SENT + r"{0,40}?(?:anweisung|anleitung|regel|instruktion|vorgabe|prompt|kriterien|richtlinie)",
              generic=True),
    _detector("override", r"\b(?:ignore|ignorez|oublie|oubliez|ne tiens pas compte|ne tenez pas compte)\b"
              + _SENT + r"{0,40}?(?:instruction|consigne|regle|directive|prompt|critere|bareme)", generic=True),
    _detector("override", r"\b(?:ignora|ignore|olvida|olvide|omite|descarta|no hagas caso)\b"
              + _SENT + r"{0,40}?(?:instruccion|indicacion|regla|directriz|prompt|criterio|rubrica)", generic=True),
    _detector("override", r"\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+)?(?:of\s+)?(?:the\s+)?"
              r"(?:above|previous|preceding|prior)(?=\s*(?:[.,;:!\n]|and\b|$))", generic=True),
    _detector("end of answer", r"(?:^|\n|[-=#*_]{2,}\s*)end of (?:the )?(?:candidate'?s? )?(?:answer|response|submission)"
              r"|\bnew task\s*:"),
    _detector("new instructions", r"\b(?:new|updated|revised|real|actual|hidden|secret|additional|overriding)"
              r" (?:system )?(?:instructions?|system prompt|directives|orders)\b|\b(?:grading|scoring|evaluation"
              r"|system|admin) (?:override|mode)\b|новые (?:инструкции|указания|правила)|neue (?:anweisungen|regeln)"
              r"|nouvelles (?:instructions|consignes|regles)|nuevas (?:instrucciones|reglas)", generic=True),
    # --- text addressed to whoever grades
    _detector("addressed to the grader", r"\b(?:dear|hey|hi|hello|attention|note (?:to|for)|message (?:to|for)"
              r"|instructions? (?:to|for)|reminder (?:to|for)|psst|p\.s\.|уважаем\w*|дорог\w*|привет|внимание"
              r"|lieber|liebe|hallo|achtung|hinweis (?:an|fur)|cher|chere|bonjour|querido|estimado|hola|atencion"
              r"|nota para)\s*,?\s*(?:the |my |our |dear |den |die |le |la |el |al )?" + GRADER + r"\b"),
    _detector("addressed to the grader", r"(?:^|[.!?\n]\s*)(?:grader|evaluator|examiner|assessor|scorer|judge|ai"
              r"|llm|chatgpt|gpt-?\d*|claude|оценщик|проверяющий|экзаменатор|bewerter|prufer|correcteur"
              r"|evaluateur|examinateur|evaluador|calificador|corrector|examinador)\s*[,:!]"),
    _detector("addressed to the grader", r"\b(?:whoever|anyone|the (?:person|one|model|system|ai|tool)"
              r" (?:who|that)(?: is)?) (?:grad|mark|scor|evaluat|assess|rat)\w* (?:this|me|my|" + ANSWER_REF + r")"),
    _detector("addressed to the grader", r"\b(?:if|in case|when) (?:you are|you're|you re) (?:an? |the )?"
              r"(?:ai|a\.i\.|llm|language model|large language model|grader|grading|automated|automatic|bot"
              r"|evaluator|model|assistant|chatbot|machine)|\bas an? (?:ai|llm|language model)\b(?! engineer)"
              r"|если ты (?:ии|модель|нейросеть|оценщик|бот)|wenn du (?:eine? )?(?:ki|modell|bewerter|bot)"
              r"|si tu es (?:une? )?(?:ia|modele|correcteur|evaluateur)|si eres (?:una? )?(?:ia|modelo|evaluador)"),
    _detector("addressed to the grader", r"\b(?:grader|evaluator|examiner|assessor|scorer|judge|grading model|llm"
              r"|chatgpt)s?\b" + _SENT + r"{0,20}?\b(?:please|must|should|shall|will|needs? to|has to|is (?:required"
              r"|instructed) to)\b" + _SENT + r"{0,30}?\b(?:give|score|grade|rate|mark|award|assign|ignore|output"
              r"|return|treat|consider|disregard|accept|pass)"),
    # --- role-play
    _detector("role-play", r"\b(?:pretend (?:you are|you're|to be|that)|imagine (?:you are|you're)|roleplay"
              r"|role-play|play the role of|you are now|you're now|from now on,? you|let'?s play a game"
              r"|(?:(?<![\w ])|(?<=[.!?:;] )|(?<=\byou )|(?<=please ))act as"
              r"|представь\w*,? что ты|притворись|ты теперь|веди себя как"
              r"|tu so,? als|stell dir vor,? du bist|du bist (?:jetzt|nun|ab jetzt)|spiel die rolle"
              r"|fais comme si|faites comme si|imagine que tu es|tu es (?:maintenant|desormais)|joue le role"
              r"|finge (?:que eres|ser)|haz como si|imagina que eres|ahora eres|actua como)"
              + _SENT + r"{0,120}?\b(?:" + ROLE_TARGET + r")\b"),
    _detector("role-play", r"\byou are (?:now )?(?:the|a|an|my) (?:grader|evaluator|judge|examiner|assessor|scorer"
              r"|lenient|generous)|\bas the (?:grader|evaluator|judge|examiner|assessor)\b"),
]
# Words that make a sentence a discussion of attacks rather than an attack.
_MENTION = re.compile(r"inject|attack|malicious|adversar|jailbreak|defen[cs]|saniti[sz]|escap|filter|detect"
                      r"|classif|such as|things like|phrases? like|strings? like|e\.g\.|for example|special tokens?")
MAX_QUOTE = 300


def _sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    left = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    rights = [i for i in (text.find(c, end) for c in ".!?\n") if i != -1]
    return left, min(rights) + 1 if rights else len(text)


def _is_mention(view: View, match: re.Match) -> bool:
    left, right = _sentence_around(view.text, match.start(), match.end())
    return bool(_MENTION.search(view.text[left:right]))


def _quote(original: str, start: int, end: int) -> str:
    """The original sentence(s) holding [start, end), verbatim, at most MAX_QUOTE characters around it."""
    left, right = _sentence_around(original, start, end)
    left, right = max(left, start - MAX_QUOTE // 2), min(right, end + MAX_QUOTE // 2)
    return original[left:right].strip()


@dataclass(frozen=True)
class Finding:
    detector: str
    start: int  # span in the original answer
    end: int
    quote: str  # the original passage, verbatim
    decoded: str | None = None  # what a hidden run decodes to, when the finding is inside one


@cache
def _longest_literal() -> int:
    return max(len(string) for detector in DETECTORS for strings in detector.required for string in strings)


def _common_prefix(a: str, b: str) -> int:
    low, high = 0, min(len(a), len(b))
    while low < high:  # binary search: slice comparisons run in C
        middle = (low + high + 1) // 2
        low, high = (middle, high) if a[:middle] == b[:middle] else (low, middle - 1)
    return low


def _covering_text(views: list[View]) -> str:
    """A text holding every string that any view holds: the first view, then the part of each
    other view that differs from it, widened so a string overlapping the difference fits."""
    first, widen = views[0].text, _longest_literal()
    parts = [first]
    for view in views[1:]:
        prefix = _common_prefix(first, view.text)
        suffix = _common_prefix(first[prefix:][::-1], view.text[prefix:][::-1])
        parts.append(view.text[max(0, prefix - widen):len(view.text) - suffix + widen])
    return "\0".join(parts)


def _scan(text: str, depth: int = 0, *, prefilter: bool = True) -> list[Finding]:
    """Every detector hit; `prefilter=False` runs every regex on every view (the reference)."""
    findings = []
    views = normalised_views(text)
    if prefilter:  # once for all views: each view's text is inside the covering text
        covering = _covering_text(views)
        detectors = [d for d in DETECTORS if admits(d.required, covering)]
    else:
        detectors = DETECTORS
    for view in views:
        for detector in detectors:
            for match in detector.pattern.finditer(view.text):
                if detector.generic and _is_mention(view, match):
                    continue
                start, end = view.original_span(match.start(), max(match.end(), match.start() + 1))
                findings.append(Finding(detector.name, start, end, _quote(text, start, end)))
    if depth < 2:
        for start, end, decoded in decoded_runs(text):
            for inner in _scan(decoded, depth + 1, prefilter=prefilter):
                findings.append(Finding(inner.detector, start, end, _quote(text, start, end), decoded=decoded))
    return findings


@lru_cache(maxsize=2048)
def findings(answer: str) -> tuple[Finding, ...]:
    """Every detector hit in the answer, one per original passage, in reading order."""
    seen: dict[str, Finding] = {}
    # A hidden run's finding (which says what it decodes to) wins over a chance hit on its letters.
    for finding in sorted(_scan(answer), key=lambda f: (f.start, f.end, f.decoded is None)):
        seen.setdefault(finding.quote, finding)
    return tuple(seen.values())


def injection_evidence(answer: str) -> list[str]:
    """The passages of an answer (verbatim) that read as instructions to whoever grades it."""
    return [f.quote for f in findings(answer or "")]


def looks_like_injection(answer: str) -> bool:
    return bool(findings(answer or ""))
