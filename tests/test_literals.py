"""Necessary literals of a regex: every match holds one string of each requirement."""

from __future__ import annotations

import re

import pytest

from coach.scoring.injection import DETECTORS
from coach.scoring.literals import admits, required_literals


@pytest.mark.parametrize("pattern, required", [
    (r"\bignore\b", [{"ignore"}]),
    (r"deserves?", [{"deserve"}]),  # the longer spelling holds the shorter: one check suffices
    (r"(?:give|award) [^.]{0,9}?\b(?:5|10)\b", [{"give ", "award "}, {"5", "10"}]),
    (r"should (?:get|be (?:given|rated))", [{"should get", "should be given", "should be rated"}]),
    (r"a\w+b", [{"a"}, {"b"}]),
    (r"(?:x|\w+)yz", [{"yz"}]),
    (r"(?:^|\n)end", [{"end"}]),
])
def test_each_part_a_match_cannot_skip_is_required(pattern, required):
    assert sorted(map(set, required_literals(re.compile(pattern))), key=sorted) == sorted(required, key=sorted)


@pytest.mark.parametrize("pattern", [r"\w+", r"(?:a|\w)", r"(?:abc)?", r"[^x]{3}", r"(?i)abc", r"x*"])
def test_nothing_is_required_when_a_match_can_avoid_every_literal(pattern):
    assert required_literals(re.compile(pattern)) == ()


def test_a_text_without_a_required_string_is_refused():
    required = required_literals(re.compile(r"\b(?:give|award)\b.{0,20}?\b5\b"))
    assert admits(required, "please give it a 5") and not admits(required, "please give it a four")


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.name)
def test_every_detector_requires_something(detector):
    """A detector with no requirement would run on every answer: the prefilter would do nothing for it."""
    assert detector.required
