"""plain_text.py: what a rendered answer reads as without its Markdown, and its snippet for a table."""

from __future__ import annotations

import pytest

from dataoorts_magic.display.plain_text import plain_lines, snippet


def test_markup_goes_and_the_words_stay():
    text = (
        "## Offline *echo*\n\nThis is **bold**, `__init__` and snake_case, ~~gone~~, [a link](https://x.org) "
        "and ![a cat](cat.png).\nSame paragraph.\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "```python\nprint(1)\n```"
    )
    assert plain_lines(text) == [
        "Offline echo",
        "This is bold, __init__ and snake_case, gone, a link and a cat. Same paragraph.",
        "one",
        "two",
        "a | b",
        "1 | 2",
        "print(1)",
    ]


@pytest.mark.parametrize(
    "text, shown",
    [
        ("Short.", "Short."),
        ("# Title\n\nFirst paragraph.", "Title · First paragraph."),
        ("# Title\n\nFirst.\n\nSecond.", "Title · First. …"),  # more follows: an ellipsis says so
        ("", ""),
    ],
)
def test_snippet_is_the_first_two_lines_with_an_ellipsis_when_there_is_more(text, shown):
    assert snippet(text) == shown


def test_a_long_snippet_is_cut_with_an_ellipsis():
    cut = snippet("word " * 100, limit=40)
    assert len(cut) <= 40 and cut.endswith("…") and "word word" in cut


def test_raw_html_is_text_in_the_snippet_for_the_display_to_escape():
    assert snippet('Hi <img src=x onerror="alert(1)">') == 'Hi <img src=x onerror="alert(1)">'
