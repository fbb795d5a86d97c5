"""Every door builds the same typed request and sends it through ``LlamaSession.send``, once.

The session's ``send`` is watched (wrapped, still called) in a real shell talking HTTP to a
loopback endpoint; what a user would check is asserted too: the log rows and conversation turns.
"""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
from support.scripted_server import ok
from support.shell import run

from dataoorts_magic.pipeline.request import Request


@pytest.fixture
def sends(magics, monkeypatch):
    """Every (request, control) the session's one send is called with, in order."""
    session, calls = magics.llama_session, []
    real = session.send

    def watched(request, *, on_text=None, control=None):
        calls.append((request, control))
        return real(request, on_text=on_text, control=control)

    monkeypatch.setattr(session, "send", watched)
    return calls


def _panel_send(prompt: str):
    import dataoorts_magic

    panel = dataoorts_magic.panel()
    panel.prompt_box.value = prompt
    panel.controls["temperature"].input.value = 0.2  # moving a slider turns its "set" toggle on
    panel.controls["temperature"].toggle.value = True
    panel.controls["max_tokens"].input.value = 30
    panel.send_button.click()
    deadline = time.monotonic() + 15
    while panel.send_button.disabled and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not panel.error_line.value, panel.error_line.value
    return panel


def test_the_magic_the_panel_and_ask_make_the_same_request_and_send_it_once(ip, online, sends):
    import dataoorts_magic

    result, cap = run(ip, "%%llama -t 0.2 -n 30\nSame question")
    assert result.success, cap.stderr
    _panel_send("Same question")
    dataoorts_magic.ask("Same question", temperature=0.2, max_tokens=30)
    assert len(sends) == 3 and online.count == 3  # one send per door, one HTTP request each
    magic, panel, api = (request for request, _ in sends)
    assert all(isinstance(r, Request) for r in (magic, panel, api))
    what = [(r.model, r.messages, r.params) for r in (magic, panel, api)]
    assert what[0] == what[1] == what[2]
    assert magic.messages == ({"role": "user", "content": "Same question"},)
    assert magic.params == {"max_tokens": 30, "temperature": 0.2}


def test_batches_send_each_item_through_the_one_send(ip, online, sends):
    import dataoorts_magic

    ip.user_ns["xs"] = ["a", "b", "c"]
    result, cap = run(ip, "%%llama --over xs -q -o out\nAbout {item}")
    assert result.success, cap.stderr
    over = sends[:]
    result, cap = run(ip, "%%llama --compare temperature=0,1 -q -o cmp\nCompare me")
    assert result.success, cap.stderr
    compared = sends[len(over) :]
    dataoorts_magic.ask_each(["d", "e"], "Then {item}")
    each = sends[len(over) + len(compared) :]
    assert [r.prompt for r, _ in over] == ["About a", "About b", "About c"]
    assert [r.params.get("temperature") for r, _ in compared] == [0.0, 1.0]
    assert sorted(r.prompt for r, _ in each) == ["Then d", "Then e"]
    assert all(control is not None for _, control in sends)  # every batch request can be stopped and slowed
    assert online.count == 7


def test_a_schema_answer_asked_again_is_one_turn_two_log_rows_and_both_usages(ip, scripted, sends, tmp_path):
    scripted.script(ok("The stars are four."), ok('{"stars": 4}'))
    result, cap = run(ip, '%%llama -c review --schema "stars: int" -o x\nRate it')
    assert result.success, cap.stderr
    assert ip.user_ns["x"] == {"stars": 4}
    assert len(sends) == 1 and len(scripted.requests) == 2  # one send: the re-ask is inside it
    second = scripted.requests[1].json["data"]["messages"]
    assert second[-2] == {"role": "assistant", "content": "The stars are four."}
    assert "does not match the requested format" in second[-1]["content"]
    turns = ip.magics_manager.registry["LlamaMagics"].llama_session.conversations.get("review").turns
    assert len(turns) == 1 and turns[0]["assistant"] == '{"stars": 4}'
    assert turns[0]["usage"]["prompt_tokens"] == 24  # both exchanges (12 prompt tokens each)
    footer = cap.outputs[-1].data["text/plain"]
    assert "24 → 10 tokens" in footer and "re-asked once" in footer
    with sqlite3.connect(tmp_path / "log.sqlite3") as conn:
        rows = conn.execute("SELECT conversation, answer, status FROM exchanges ORDER BY id").fetchall()
    assert rows == [("review", "The stars are four.", "ok"), ("review", '{"stars": 4}', "ok")]


def test_a_conversation_turn_is_added_once_and_a_failed_turn_adds_nothing(ip, scripted, magics):
    from support.scripted_server import fail

    scripted.script(ok("First answer"), fail(400, 5006, "bad input"))
    run(ip, "%%llama -c lesson\nFirst")
    result, _ = run(ip, "%%llama -c lesson\nSecond")
    assert not result.success
    turns = magics.llama_session.conversations.get("lesson").turns
    assert [t["user"] for t in turns] == ["First"]
    sent = json.loads(json.dumps(scripted.requests[1].json["data"]["messages"]))
    assert sent == [
        {"role": "user", "content": "First"},
        {"role": "assistant", "content": "First answer"},
        {"role": "user", "content": "Second"},
    ]
