"""Necessary literals of a regular expression: strings that every match must contain.

A few cheap `in` checks tell that a pattern cannot match a text without running it (the prefilter
grep tools use). They are derived from the parsed pattern, so a detector's literals never drift
from its regex: each part a match cannot skip requires one of its strings; a concatenation joins
adjacent exact parts, an alternation needs one of its branches' strings, an optional or unbounded
part requires nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

MAX_STRINGS = 64  # an exact set larger than this is not worth spelling out
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_ZERO_WIDTH = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)
Requirement = frozenset[str]  # every match contains at least one of these strings


@dataclass(frozen=True)
class _Info:
    exact: frozenset[str] | None  # every string the node can match, when few are
    required: tuple[Requirement, ...]  # each holds for every match

    @property
    def best(self) -> Requirement | None:
        return max(self.required, key=_selectivity) if self.required else None


_NOTHING_KNOWN = _Info(None, ())


def required_literals(pattern: re.Pattern) -> tuple[Requirement, ...]:
    """Sets of strings such that every match of `pattern` contains one string of each set,
    most selective first; () when nothing is known."""
    if pattern.flags & re.IGNORECASE:
        return ()
    try:
        parsed = _sequence(sre_parse.parse(pattern.pattern, pattern.flags))
    except Exception:  # the parser is CPython's private one: if it changes, the prefilter knows nothing
        return ()  # and every detector runs, as without it
    required = {_minimal(r) for r in parsed.required}
    return tuple(sorted(required, key=_selectivity, reverse=True))


def _minimal(strings: Requirement) -> Requirement:
    """Without the strings that contain another: a text holding one holds the shorter one too."""
    return frozenset(s for s in strings if not any(t in s for t in strings if t != s))


def admits(requirements: tuple[Requirement, ...], text: str) -> bool:
    """False only when `text` lacks every string of some requirement, so no match is possible."""
    return all(any(map(text.__contains__, strings)) for strings in requirements)


def _selectivity(strings: Requirement) -> tuple[int, int]:
    return min(map(len, strings)), -len(strings)


def _exact(strings: frozenset[str]) -> _Info:
    return _Info(strings, () if "" in strings else (strings,))


def _sequence(items) -> _Info:
    run: frozenset[str] = frozenset({""})  # the exact strings of the items since the last break
    required: list[Requirement] = []
    broken = False
    for op, av in items:
        info = _node(op, av)
        if info.exact is not None and len(run) * len(info.exact) <= MAX_STRINGS:
            run = frozenset(a + b for a in run for b in info.exact)
            continue
        broken = True
        required += [run] if "" not in run else []
        required += info.required
        run = info.exact if info.exact is not None else frozenset({""})
    required += [run] if "" not in run else []
    return _Info(None if broken else run, tuple(required))


def _node(op, av) -> _Info:
    if op is sre.LITERAL:
        return _exact(frozenset({chr(av)}))
    if op in _ZERO_WIDTH:
        return _exact(frozenset({""}))
    if op is sre.IN:
        return _char_class(av)
    if op is sre.SUBPATTERN:
        _group, add_flags, _del_flags, body = av
        return _NOTHING_KNOWN if add_flags & re.IGNORECASE else _sequence(body)
    if op is sre.ATOMIC_GROUP:
        return _sequence(av)
    if op is sre.BRANCH:
        return _branch([_sequence(branch) for branch in av[1]])
    if op in _REPEATS:
        return _repeat(*av)
    return _NOTHING_KNOWN  # any character, a negated literal, a back-reference, ...


def _char_class(items) -> _Info:
    chars: set[str] = set()
    for op, av in items:
        if op is sre.LITERAL:
            chars.add(chr(av))
        elif op is sre.RANGE and av[1] - av[0] < MAX_STRINGS:
            chars.update(map(chr, range(av[0], av[1] + 1)))
        else:  # a negation or a category (\w, \s): too many characters
            return _NOTHING_KNOWN
    return _exact(frozenset(chars)) if len(chars) <= MAX_STRINGS else _NOTHING_KNOWN


def _branch(branches: list[_Info]) -> _Info:
    if all(b.exact is not None for b in branches):
        union = frozenset().union(*(b.exact or () for b in branches))
        if len(union) <= MAX_STRINGS:
            return _exact(union)
    bests = [b.best for b in branches]
    if any(best is None for best in bests):
        return _NOTHING_KNOWN
    return _Info(None, (frozenset().union(*(best or () for best in bests)),))


def _repeat(low: int, high: int, body) -> _Info:
    info = _sequence(body)
    if info.exact is not None and high <= 3:  # "s?", "x{2}": spelled out
        repeated, options = frozenset({""}), set() if low else {""}
        for count in range(1, high + 1):
            repeated = frozenset(a + b for a in repeated for b in info.exact)
            options |= repeated if count >= low else set()
        if len(options) <= MAX_STRINGS:
            return _exact(frozenset(options))
    return _Info(None, info.required if low >= 1 else ())

