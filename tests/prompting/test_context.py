"""-x / --context: the last cells run, as one delimited block before the prompt, in a real shell (INTERFACE 13)."""

from __future__ import annotations

import re

import pytest
from support.notebook_cells import cell, sent_messages, sent_user
from support.shell import KEY, everything_shown

from dataoorts_magic.pipeline.conversations import estimate_tokens

BEGIN = "=== Notebook context: "
END = "=== End of notebook context: my question follows ==="


def context_of(prompt: str) -> str:
    assert prompt.startswith(BEGIN), prompt[:200]
    return prompt.split(END, 1)[0]


def test_the_last_cells_oldest_first_with_source_result_and_error_before_the_prompt(ip, online):
    a, _ = cell(ip, "values = []")
    b, _ = cell(ip, "def average(v):\n    return sum(v) / len(v)\n\naverage(values)")
    c, _ = cell(ip, "len('{braces stay}')")
    result, cap = cell(ip, "%%llama -x 3 -o r\nWhy did my average fail?")
    assert result.success, cap.stderr
    prompt = sent_user(online)
    assert prompt.startswith(f"{BEGIN}the 3 cells I ran before this question, oldest first ===\n\n")
    assert prompt.endswith(f"{END}\n\nWhy did my average fail?")
    block = context_of(prompt)
    a_at, b_at, c_at = (block.index(f"In [{x.execution_count}]:\n```python\n") for x in (a, b, c))
    assert a_at < b_at < c_at  # oldest first
    assert "```python\nvalues = []\n```" in block
    assert f"Error in [{b.execution_count}]:\n```text\nTraceback (most recent call last):" in block
    assert "ZeroDivisionError: division by zero\n```" in block
    assert f"Out [{c.execution_count}]:\n```text\n13\n```" in block
    assert "len('{braces stay}')" in block  # cell code is never interpolated
    assert ip.user_ns["r"].messages[-1]["content"] == prompt  # the sent text is in .messages


def test_x_alone_sends_the_context_cells_setting(ip, online):
    for i in range(4):
        cell(ip, f"step_{i} = {i}")
    cell(ip, "%llama_config context_cells=2")
    cell(ip, "step_9 = 9")
    result, cap = cell(ip, "%%llama -x\nWhat did I do?")
    assert result.success, cap.stderr
    block = context_of(sent_user(online))
    assert "the 2 cells I ran" in block
    assert "%llama_config context_cells=2" in block and "step_9 = 9" in block and "step_3" not in block


def test_a_context_longer_than_the_window_drops_the_oldest_cells_with_a_note(ip, online):
    big = "# " + "lorem ipsum dolor " * 800  # about 3,600 estimated tokens per cell
    cell(ip, big + "\nfirst = 1")
    cell(ip, big + "\nsecond = 2")
    cell(ip, "third = 3")
    result, cap = cell(ip, "%%llama -x 3 -n 3000 -o r\nSummarize.")
    assert result.success, cap.stderr
    messages = sent_messages(online)
    block = context_of(messages[-1]["content"])
    assert "third = 3" in block and "second = 2" in block and "first = 1" not in block
    assert "the 2 cells I ran" in block
    assert estimate_tokens(messages) + 3000 <= 8000  # room left for max_tokens in the 8,000-token window
    note = [line for line in cap.stderr.splitlines() if line.startswith("Note: ")]
    assert note == [
        "Note: --context: the oldest cell of 3 left out to fit the 8,000-token window with room for max_tokens=3000"
    ]


def test_when_no_cell_fits_the_prompt_goes_alone_and_the_note_says_so(ip, online):
    cell(ip, "# " + "lorem ipsum dolor " * 2000)
    result, cap = cell(ip, "%%llama -x 1 -n 7000\nSummarize.")
    assert result.success, cap.stderr
    assert sent_user(online) == "Summarize."
    assert "Note: --context: the cell of 1 left out to fit the 8,000-token window" in cap.stderr


def test_model_text_and_html_in_a_cell_output_are_sent_as_text(ip, online):
    asked, _ = cell(ip, "%%llama\nShow <img src=x onerror=alert(1)> and <script>alert(2)</script>")
    cell(ip, "from IPython.display import HTML\nHTML('<b onclick=\"steal()\">bold</b>')")
    result, cap = cell(ip, "%%llama -x 2\nWhat were these?")
    assert result.success, cap.stderr
    block = context_of(sent_user(online))
    # the earlier answer, as the model wrote it, fenced as text: never rendered on the way
    assert f"Out [{asked.execution_count}]:\n````text\n## " in block  # a longer fence: the answer holds ``` blocks
    assert "<img src=x onerror=alert(1)> and <script>alert(2)</script>" in block
    assert '```text\n<b onclick="steal()">bold</b>\n```' in block  # the HTML object's own text
    assert "IPython.core.display.HTML object" not in block
    shown = cap.outputs[-1].data["text/html"]  # and this answer, which echoes them, shows them inert
    assert not re.search(r"<(script|img)\b", shown)  # no live tag: they are text
    assert not re.search(r"<[a-z][^>]*\son\w+=", shown)  # no tag carries an event handler


def test_the_key_is_never_sent_from_a_cell_that_holds_it(ip, online):
    cell(ip, f"%llama_key {KEY}")  # refused by the magic, but the key is in the cell's source
    cell(ip, f"api_key = {KEY!r}\nprint('set')")
    cell(ip, f"import os\nos.environ['DATAOORTS_API_KEY'] = {KEY!r}\napi_key")
    result, cap = cell(ip, "%%llama -x 3 -o r\nWhat did I set up? {In[-2]} {Out[-1]} {Err[-3]}")
    assert result.success, cap.stderr
    sent = str(online.requests[-1]["body"])
    assert KEY not in sent
    block = context_of(sent_user(online))
    assert "api_key = '***'" in block  # the key's value, wherever it appears, is ***
    assert "# (a line that sets the API key, left out)" in block  # a %llama_key line is not sent at all
    assert "%llama_key" not in sent and "os.environ['DATAOORTS_API_KEY'] =" not in sent
    assert KEY not in everything_shown(cap) and KEY not in str(ip.user_ns["r"].messages)


def test_with_chat_the_context_goes_with_this_turn_only(ip, online):
    cell(ip, "clue = 'turn one'")
    result, _ = cell(ip, "%%llama -c ctx22 -x 1\nFirst question")
    assert result.success
    first = sent_messages(online)
    assert first[-1]["content"].startswith(f"{BEGIN}the cell I ran before this question ===\n\n")  # one cell
    assert "clue = 'turn one'" in first[-1]["content"]
    result, _ = cell(ip, "%%llama -c ctx22\nSecond question")
    assert result.success
    second = sent_messages(online)
    assert [m["content"] for m in second if m["role"] == "user"] == ["First question", "Second question"]
    assert not any(BEGIN in m["content"] for m in second if m["role"] == "user")


@pytest.mark.parametrize(
    "line, problem",
    [
        ("%%llama -x 99\nHi", "-x 99: give the number of cells to send, 0 to 50"),
        ("%%llama -x lots\nHi", "-x lots: give the number of cells to send, 0 to 50"),
        ("%%llama --over items -x 2\n{item}", "-x adds the notebook's last cells to one question"),
    ],
)
def test_a_bad_x_is_one_line_and_nothing_is_sent(ip, online, line, problem):
    ip.user_ns["items"] = ["a", "b"]
    result, cap = cell(ip, line)
    assert not result.success and online.count == 0
    assert problem in cap.stderr and "Traceback" not in cap.stdout + cap.stderr
    assert len(cap.stderr.strip().splitlines()) == 1
