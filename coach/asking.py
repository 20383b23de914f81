"""Reading a candidate's message before it is graded: is it a question to the interviewer, a
request to repeat, an "I don't know", or an answer?

Offline this is a rule, tested on examples (tests/test_asking.py): a short message made of
questions is a question; an answer that contains a question mark (a question it then answers
itself, a check-in at the end of an explanation, code) is an answer.
"""

from __future__ import annotations

import re
from typing import Literal

Ask = Literal["clarify", "repeat", "meaning"]

MAX_QUESTION_WORDS = 80  # longer than this, a message is an answer that happens to ask something
MAX_PREAMBLE_WORDS = 12  # "OK, before I start I have a few questions:" may come before the questions
MAX_AFTERWORD_WORDS = 6  # "Thanks." after a question; a longer statement answers it (rhetorical)

_CODE = re.compile(r"```.*?(```|$)", re.S)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_REPEAT = re.compile(
    r"\b(repeat( that| the question|\s*$)|say (that|it) again|come again|pardon|didn'?t catch|did not catch|"
    r"one more time|once more)\b"
)
_MEANING = re.compile(
    r"\b(what do you mean|what does .{1,40} mean|what is meant by|do you mean|could you clarify|can you clarify|"
    r"clarify what you mean|not sure what you mean)\b"
)
# Questions asked for effect, not for an answer.
_RHETORICAL = re.compile(
    r"^(isn'?t (that|it)|who (doesn'?t|wouldn'?t)|why (not|wouldn'?t (you|we|i))|what'?s not to|doesn'?t everyone|"
    r"right\?|you know\?)"
)
_NO_MORE = re.compile(
    r"^(no|nope|none|nothing( else)?|not really|that'?s (all|it|everything)|i'?m good|all good|i think you'?ve? covered|"
    r"you (have |'ve )?covered|no (more )?questions|i don'?t have any|no,? thanks?)\b"
)


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'%/-]+", text)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if _words(s)]


def recognise(text: str) -> Ask | None:
    """What the message asks the interviewer, or None when it is an answer."""
    if _CODE.search(text) or len(_words(text)) > MAX_QUESTION_WORDS:
        return None
    lowered = " ".join(text.lower().split())
    if _REPEAT.search(lowered) and len(_words(text)) <= MAX_PREAMBLE_WORDS:
        return "repeat"
    sentences = _sentences(lowered)
    asked = [i for i, s in enumerate(sentences) if s.endswith("?") and not _RHETORICAL.match(s)]
    if not asked:
        return "meaning" if _MEANING.search(lowered) and len(_words(text)) <= MAX_PREAMBLE_WORDS else None
    before = [s for s in sentences[: asked[0]] if not s.endswith("?")]
    after = [s for s in sentences[asked[0]:] if not s.endswith("?")]
    if any(len(_words(s)) > MAX_PREAMBLE_WORDS for s in before):
        return None  # an explanation that ends with "does that make sense?"
    if any(len(_words(s)) > MAX_AFTERWORD_WORDS for s in after):
        return None  # a question the candidate goes on to answer
    return "meaning" if _MEANING.search(lowered) else "clarify"


def has_no_more_questions(text: str) -> bool:
    """In "What would you like to ask me?": the candidate has nothing (more) to ask."""
    lowered = " ".join(text.lower().split())
    return "?" not in lowered and bool(_NO_MORE.match(lowered))


def is_non_answer(text: str, phrases: list[str], min_words: int) -> bool:
    """ "Not sure", "no idea", or too short to be an answer at all."""
    lowered = " ".join(text.lower().replace("’", "'").split())
    words = _words(lowered)
    if len(words) < min_words:
        return True
    return len(words) <= 15 and any(re.search(rf"(?<![\w]){re.escape(p)}(?![\w])", lowered) for p in phrases)
