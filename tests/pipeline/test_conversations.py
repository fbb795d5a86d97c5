"""%%llama -c: named conversations in a real InteractiveShell, over HTTP to the loopback endpoint."""

from __future__ import annotations

import pytest
from support.shell import run

from dataoorts_magic.pipeline.conversations import Conversation, Conversations, estimate_tokens, trim


@pytest.fixture(autouse=True)
def no_conversations(ip, magics):
    """Conversations live for the kernel's lifetime; each test starts with none."""
    magics.llama_session.conversations.clear()
    yield
    magics.llama_session.conversations.clear()


def sent(server) -> list[dict]:
    return server.requests[-1]["body"]["data"]["messages"]


def answer_of(cap) -> str:
    return cap.outputs[-1].data["text/plain"].rsplit("\n\n-- ", 1)[0]


def footer_of(cap) -> str:
    return cap.outputs[-1].data["text/plain"].rsplit("\n\n-- ", 1)[1]


def test_turns_two_and_three_send_the_system_prompt_earlier_turns_and_the_new_message(ip, online):
    result, cap1 = run(ip, '%%llama -c tutor -s "You are a patient tutor." -n 60\nWhat is a mean?')
    assert result.success, cap1.stderr
    a1 = answer_of(cap1)
    assert sent(online) == [
        {"role": "system", "content": "You are a patient tutor."},
        {"role": "user", "content": "What is a mean?"},
    ]

    result, cap2 = run(ip, "%%llama -c tutor -n 60\nAnd a median?")
    assert result.success, cap2.stderr
    a2 = answer_of(cap2)
    assert sent(online) == [
        {"role": "system", "content": "You are a patient tutor."},
        {"role": "user", "content": "What is a mean?"},
        {"role": "assistant", "content": a1},
        {"role": "user", "content": "And a median?"},
    ]

    run(ip, "%%llama -c tutor -n 60\nWhich is robust to outliers?")
    assert sent(online) == [
        {"role": "system", "content": "You are a patient tutor."},
        {"role": "user", "content": "What is a mean?"},
        {"role": "assistant", "content": a1},
        {"role": "user", "content": "And a median?"},
        {"role": "assistant", "content": a2},
        {"role": "user", "content": "Which is robust to outliers?"},
    ]


def test_without_c_a_cell_is_stateless(ip, online):
    run(ip, "%%llama -c -n 30\nRemember the number 7.")
    result, cap = run(ip, "%%llama -n 30\nWhat number?")
    assert result.success, cap.stderr
    assert sent(online) == [{"role": "user", "content": "What number?"}]
    run(ip, "%%llama -c -n 30\nWhat number?")
    assert [m["content"] for m in sent(online) if m["role"] == "user"] == ["Remember the number 7.", "What number?"]


def test_conversations_are_separate_and_default_is_named_default(ip, online, magics):
    run(ip, "%%llama -c -n 20\nOne")
    run(ip, "%%llama --chat=other -n 20\nTwo")
    run(ip, "%llama -c -n 20 Three")  # line magic: -c takes no name here, the rest is the prompt
    assert sent(online)[0] == {"role": "user", "content": "One"} and sent(online)[-1]["content"] == "Three"
    chats = magics.llama_session.conversations
    assert sorted(chats.names()) == ["default", "other"]
    assert [t["user"] for t in chats.get("default").turns] == ["One", "Three"]
    assert [t["user"] for t in chats.get("other").turns] == ["Two"]


def test_system_prompt_is_set_on_the_first_turn_and_changed_only_by_s(ip, online, magics):
    run(ip, "%%llama -c -n 20\nFirst")  # no system prompt anywhere: none is sent
    assert sent(online)[0]["role"] == "user"
    run(ip, '%llama_config system="Later default."')
    run(ip, "%%llama -c -n 20\nSecond")  # the session default does not rewrite a running conversation
    assert sent(online)[0] == {"role": "user", "content": "First"}
    run(ip, '%%llama -c -s "Now formal." -n 20\nThird')
    assert sent(online)[0] == {"role": "system", "content": "Now formal."}
    run(ip, "%%llama -c -n 20\nFourth")
    assert sent(online)[0] == {"role": "system", "content": "Now formal."}
    assert magics.llama_session.conversations.get("default").system == "Now formal."
    run(ip, "%%llama -c fresh -n 20\nHi")  # a new conversation takes the session default
    assert sent(online)[0] == {"role": "system", "content": "Later default."}


def test_a_failed_turn_adds_nothing(ip, online, magics):
    run(ip, "%%llama -c -n 20\nFirst")
    online.enqueue({"status": 400, "code": 5006, "message": "bad input"})
    result, cap = run(ip, '%%llama -c -s "ignored" -n 20\nThis one fails')
    assert not result.success and "bad input" in cap.stderr
    result, _ = run(ip, "%%llama -c -n 20\nSecond")
    assert result.success
    assert [m["content"] for m in sent(online) if m["role"] != "assistant"] == ["First", "Second"]
    conv = magics.llama_session.conversations.get("default")
    assert conv.system is None and len(conv.turns) == 2


def test_a_first_turn_that_fails_leaves_no_conversation(ip, online, magics):
    online.enqueue({"status": 400, "code": 5006})
    result, _ = run(ip, "%%llama -c lost -n 20\nHello")
    assert not result.success
    assert "lost" not in magics.llama_session.conversations.names()


def test_the_oldest_turns_are_dropped_to_fit_the_window_never_the_system_prompt(ip, online, magics):
    run(ip, '%%llama -c -s "Be brief." -n 40\n' + "first question " * 20)
    run(ip, "%%llama -c -n 40\n" + "second question " * 20)
    conv = magics.llama_session.conversations.get("default")
    third = "third question"
    full = conv.messages(third)
    without_first = [full[0], *full[3:]]
    max_tokens = 8000 - estimate_tokens(without_first)  # fits only once turn 1 is dropped
    assert estimate_tokens(full) + max_tokens > 8000

    result, cap = run(ip, f"%%llama -c -n {max_tokens}\n{third}")
    assert result.success, cap.stderr
    assert sent(online) == without_first
    assert "dropped the oldest turn to fit the 8,000-token window" in footer_of(cap)
    assert len(conv.turns) == 3  # the transcript keeps every turn; only the request was trimmed
    assert conv.turns[-1]["dropped"] == 1


def test_trim_is_a_pure_function_that_keeps_system_and_the_new_message():
    system = {"role": "system", "content": "s" * 40}
    turns = []
    for i in range(3):
        turns += [{"role": "user", "content": f"u{i}" * 20}, {"role": "assistant", "content": f"a{i}" * 20}]
    new = {"role": "user", "content": "new"}
    messages = [system, *turns, new]
    assert trim(messages, 10_000, 100) == (messages, 0)
    need = estimate_tokens([system, *turns[4:], new])
    assert trim(messages, need + 100, 100) == ([system, *turns[4:], new], 2)
    assert trim(messages, 1, 100) == ([system, new], 3)  # too long even alone: sent, the server decides
    assert trim([new], 1, 100) == ([new], 0)
    assert estimate_tokens([{"role": "user", "content": "abcde"}]) == 2 + 4  # ceil(5 / 4) + 4


def test_session_send_with_chat_and_clear_for_the_panel(ip, online, magics):
    session = magics.llama_session
    first = session.send(session.request("Hello from the panel", {"max_tokens": 20}, chat="panel"))
    session.send(session.request("And again", {"max_tokens": 20}, chat="panel"))
    assert sent(online) == [
        {"role": "user", "content": "Hello from the panel"},
        {"role": "assistant", "content": first.text},
        {"role": "user", "content": "And again"},
    ]
    session.conversations.clear("panel")
    session.send(session.request("New chat", {"max_tokens": 20}, chat="panel"))
    assert sent(online) == [{"role": "user", "content": "New chat"}]


def test_turns_record_usage_cost_and_model():
    from dataoorts_magic.display.response import LlamaResponse, Usage

    conv = Conversation("x")
    r = LlamaResponse(text="hi", model="m", params={"max_tokens": 5}, messages=[], usage=Usage(3, 1, 4), cost=0.5)
    turn = conv.add("hello", r, system="sys")
    assert (turn["user"], turn["assistant"], turn["model"], turn["usage"], turn["cost"]) == (
        "hello",
        "hi",
        "m",
        {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
        0.5,
    )
    assert conv.messages() == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"},
    ]
    chats = Conversations()
    chats.get("a"), chats.get("b")
    chats.clear("a")
    assert chats.names() == ["b"] and chats.find("a") is None
    chats.clear()
    assert chats.names() == []


def test_help_lists_chat_and_no_cache(ip):
    _, cap = run(ip, "%%llama?")
    text = cap.stdout
    assert "--chat" in text and "continue conversation NAME" in text
    assert "--no-cache" in text and "skip the response cache" in text
