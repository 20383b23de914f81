"""The prompts module: templates render as the interviewer and the judge use them, and a broken one fails loudly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from coach import prompts
from coach.config import Settings
from coach.wiring import check_prompts


def test_every_prompt_renders_for_every_track(kb):
    check_prompts(kb, Settings())  # raises PromptError naming the template otherwise


def test_a_prompt_that_cannot_render_is_named_in_the_error():
    with pytest.raises(prompts.PromptError, match=r"interviewer turn: UndefinedError: '\w+' is undefined"):
        prompts.check([("interviewer turn", lambda: prompts.render("interviewer_turn.j2"))])


def test_the_boundary_is_removed_in_any_case_and_other_text_is_kept():
    assert prompts.strip_boundary("a ==B1== b ==b1== c", "==B1==") == "a  b  c"
    assert prompts.strip_boundary("nothing to strip", "==B1==") == "nothing to strip"


def test_knowledge_check_renders_the_prompts_too():
    done = subprocess.run([sys.executable, "-m", "coach.cli", "knowledge", "check"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "every prompt renders" in done.stdout
