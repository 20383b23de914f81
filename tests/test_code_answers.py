"""Code answers read as code: fences and indented blocks understood, highlighted and escaped."""

from __future__ import annotations

from bs4 import BeautifulSoup

from coach.api.templating import answer_html, guess_language
from coach.codeblocks import Segment, split_code

LRU = "class LRU:\n    def get(self, key):\n        self.data.move_to_end(key)  # <b>hot</b>\n        return self.data[key]"


def test_fenced_blocks_with_a_language_are_code_and_the_prose_around_them_is_kept():
    text = f"I keep an ordered dict.\n\n```Python\n{LRU}\n```\nBoth calls are O(1)."
    assert split_code(text) == [
        Segment("prose", "I keep an ordered dict."), Segment("code", LRU, "python"),
        Segment("prose", "Both calls are O(1)."),
    ]


def test_tilde_fences_longer_fences_unclosed_fences_and_indented_blocks():
    assert split_code("~~~\nx = 1\n~~~") == [Segment("code", "x = 1")]
    assert split_code("````\n```\ninner\n```\n````") == [Segment("code", "```\ninner\n```")]
    assert split_code("Start:\n```sql\nSELECT 1;") == [Segment("prose", "Start:"), Segment("code", "SELECT 1;", "sql")]
    assert split_code("Like this:\n\n    def f():\n        return 1\n\nDone.") == [
        Segment("prose", "Like this:"), Segment("code", "def f():\n    return 1"), Segment("prose", "Done."),
    ]


def test_prose_alone_is_one_segment_and_renders_exactly_as_before():
    text = "I measure first. Then I fix the slowest query.\n  (indented less than four spaces)"
    assert split_code(text) == [Segment("prose", text)]
    assert str(answer_html(text, ["I measure first."])) == (
        '<mark class="evidence">I measure first.</mark> Then I fix the slowest query.\n  (indented less than four spaces)'
    )


def test_code_renders_highlighted_in_pre_and_never_as_html():
    html = answer_html(f"Here is mine:\n```python\n{LRU}\n```\n<script>alert(1)</script>", ["Here is mine:"])
    page = BeautifulSoup(str(html), "html.parser")
    block = page.select_one(".code-block[data-language=python] pre code")
    assert block.get_text() == LRU + "\n"
    assert block.select("span.k") and block.select_one("span.nf").get_text() == "get"  # highlighted
    assert page.find("b") is None and page.find("script") is None  # markup in code and prose stays text
    assert page.select_one(".prose mark.evidence").get_text() == "Here is mine:"
    assert "```" not in page.get_text()


def test_unlabelled_code_gets_a_language_from_telling_patterns():
    assert [guess_language(c) for c in (LRU, "SELECT id FROM users;", "const x = () => 1;", "just words")] == [
        "python", "sql", "javascript", "text"]
