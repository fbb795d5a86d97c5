"""-f code: the first code block goes into a new cell below (set_next_input, not run), in a real shell."""

from __future__ import annotations

import pytest
from support.notebook_cells import cell

import dataoorts_magic

ECHO_CODE = "# a "  # the offline echo's code block starts "# a <adjective> offline echo"


@pytest.fixture
def next_input(ip):
    ip.rl_next_input = None
    yield
    ip.rl_next_input = None


def test_the_first_code_block_becomes_the_next_cell_and_is_shown_with_the_footer(ip, online, next_input):
    result, cap = cell(ip, "%%llama -f code -o src\nWrite a loop.")
    assert result.success, cap.stderr
    src = ip.user_ns["src"]
    assert src.startswith(ECHO_CODE) and "offline echo" in src.splitlines()[0]
    assert ip.rl_next_input == src.rstrip("\n")  # the new cell below holds the source, not run
    assert "prompt_words" not in ip.user_ns  # ... and it did not run
    shown = cap.outputs[-1].data
    assert "codehilite" in shown["text/html"] and "dataoorts-footer" in shown["text/html"]  # highlighted, footer
    assert "meta/llama-3.1-8b-instruct" in shown["text/plain"]


def test_with_x_a_fix_for_the_cell_above_lands_below(ip, online, next_input):
    cell(ip, "1 / 0")
    result, cap = cell(ip, "%%llama -x 1 -f code\nFix the cell above.")
    assert result.success, cap.stderr
    assert ip.rl_next_input and ip.rl_next_input.startswith(ECHO_CODE)


def test_no_new_cell_without_a_code_block_and_a_note_says_so(ip, online, next_input):
    result, cap = cell(ip, "%%llama -f code\nGive me json please")  # the echo answers json, in a ```json block
    assert result.success
    assert ip.rl_next_input is not None  # a ```json block is still a code block
    ip.rl_next_input = None
    result, cap = cell(ip, "%%llama -f code -n 20\nHello")  # cut before the echo's code block
    assert result.success
    assert ip.rl_next_input is None
    assert "Note: the answer has no code block, so no new cell was made" in cap.stderr


@pytest.mark.parametrize(
    "source",
    [
        "%%llama -f code -q -o quiet_src\nWrite a loop.",  # -q shows nothing, so no cell either
        "%%llama --over topics -f code -o many\nCode for {item}",
        "%%llama --compare temperature=0,1 -f code -o both\nWrite a loop.",
    ],
)
def test_no_new_cell_from_quiet_over_or_compare(ip, online, next_input, source):
    ip.user_ns["topics"] = ["a", "b"]
    result, cap = cell(ip, source)
    assert result.success, cap.stderr
    assert ip.rl_next_input is None


def test_no_new_cell_from_the_python_api(ip, online, next_input):
    response = dataoorts_magic.ask("Write a loop.")
    assert "```python" in response.text
    assert ip.rl_next_input is None
