"""The panel's "Include my last cells" toggle, in a real shell over HTTP to loopback (INTERFACE 8, 13)."""

from __future__ import annotations

import time

import pytest
from support.notebook_cells import cell, sent_messages, sent_user

BEGIN = "=== Notebook context: "


def send(panel, prompt):
    panel.prompt_box.value = prompt
    panel.send_button.click()
    deadline = time.monotonic() + 15
    while panel.send_button.disabled or panel.send_button.description != "Send":
        assert time.monotonic() < deadline, "timed out waiting for Send to come back"
        time.sleep(0.005)


@pytest.fixture
def panel(ip, online):
    import dataoorts_magic

    ip.magics_manager.registry["LlamaMagics"].llama_session.conversations.clear("panel")
    return dataoorts_magic.panel()


def widgets(root):
    yield root
    for child in getattr(root, "children", ()):
        yield from widgets(child)


def test_the_toggle_is_in_the_panel_off_and_labelled(panel):
    [toggle] = [w for w in widgets(panel) if getattr(w, "description", "") == "Include my last cells"]
    assert toggle is panel.context_toggle and toggle.value is False
    assert type(toggle).__name__ == "Checkbox" and "%%llama -x" in toggle.tooltip


def test_with_the_toggle_on_the_last_cells_go_before_the_prompt(ip, panel, online):
    cell(ip, "%llama_config context_cells=2")
    cell(ip, "rows = [3, 1, 2]")
    failed, _ = cell(ip, "sorted(rows)[5]")
    send(panel, "Why did that fail?")
    assert sent_user(online) == "Why did that fail?"  # off: the prompt alone
    panel.context_toggle.value = True
    send(panel, "Why did that fail?")
    prompt = sent_user(online)
    assert prompt.startswith(f"{BEGIN}the 2 cells I ran before this question")
    assert "rows = [3, 1, 2]" in prompt and "IndexError: list index out of range" in prompt
    assert prompt.endswith("\n\nWhy did that fail?")
    assert f"In [{failed.execution_count}]:" in prompt  # the panel is no cell: -1 is the last cell run
    assert "Why did that fail?" in panel.transcript.outputs[-2]["data"]["text/plain"]
    assert BEGIN not in panel.transcript.outputs[-2]["data"]["text/plain"]  # the transcript shows what was typed


def test_kept_conversation_stores_the_prompt_without_the_cells(ip, panel, online):
    cell(ip, "clue = 'panel turn'")
    panel.keep_toggle.value = panel.context_toggle.value = True
    send(panel, "First")
    panel.context_toggle.value = False
    send(panel, "Second")
    users = [m["content"] for m in sent_messages(online) if m["role"] == "user"]
    assert users == ["First", "Second"]


def test_copy_as_llama_writes_x_for_the_toggle(ip, panel):
    panel.prompt_box.value = "Why?"
    panel.context_toggle.value = True
    panel.copy_button.click()
    assert panel.code_box.value.splitlines()[0] == "%%llama -x 3"
