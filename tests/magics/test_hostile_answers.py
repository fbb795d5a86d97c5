"""What an endpoint can send back, at its worst, as a %%llama user sees it: one line, quickly, little memory.

Issue 12's failures 1, 2, 6 and 13 (bombs, nesting, drips, endless streams, broken headers, bad
bytes), each through a real cell against the scripted loopback server, under ``%xmode Verbose``
with ``%tb`` after (``fails_in_one_line``), and the Python API's exception walked for the key.
"""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest
from support.scripted_server import Answer, gzip_bomb, ok, sse
from support.shell import KEY, everything_shown, fails_in_one_line, frames_holding, run

SLACK = 15.0  # s added to a configured bound before "the cell ends" counts as hanging (a busy machine)
MB = 1_000_000


def answer(text: str) -> bytes:
    return json.dumps({"success": True, "result": {"response": text}}).encode()


# --- 1 and 13: bounded answers -----------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_failure_1_a_gzip_bomb_fails_fast_in_one_line_with_little_memory(ip, scripted, stream):
    content_type = "text/event-stream" if stream else "application/json"
    scripted.script(Answer(200, gzip_bomb(), content_type, headers={"Content-Encoding": "gzip"}))  # 2 MB -> 2 GiB
    flag = " --stream" if stream else ""
    tracemalloc.start()
    started = time.monotonic()
    try:
        line = fails_in_one_line(ip, f"%%llama{flag}\nHello")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < SLACK  # it was 17.7 s (and a hang with --stream)
    assert peak < 64 * MB, peak  # it was +4.1 GB
    assert "sent more than 4 MB" in line and "\\x00" not in line
    assert len(scripted.requests) == 1  # not retried


def test_failure_13_a_50_mb_answer_is_refused_and_nothing_is_rendered(ip, scripted):
    scripted.script(Answer(200, answer("x" * (50 * MB))))
    tracemalloc.start()
    try:
        with_cap = run(ip, "%%llama\nHello")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    result, cap = with_cap
    assert not result.success and cap.outputs == []
    assert "sent more than 4 MB" in cap.stderr and peak < 64 * MB, peak


def test_failure_6_a_50_mb_stream_event_stops_at_the_cap(ip, scripted):
    event = b"data: " + json.dumps({"response": "y" * (50 * MB)}).encode() + b"\n\n"
    scripted.script(Answer(200, event, "text/event-stream"))
    line = fails_in_one_line(ip, "%%llama --stream\nHello")
    assert "sent more than 4 MB" in line


def test_an_answer_under_the_cap_still_arrives_whole_and_compressed(ip, scripted):
    from support.scripted_server import gzip_body

    text = "A long but honest answer. " * 40_000  # ~1 MB
    scripted.script(Answer(200, gzip_body(answer(text)), headers={"Content-Encoding": "gzip"}))
    result, cap = run(ip, "%%llama -q -o r\nHello")
    assert result.success, cap.stderr
    assert ip.user_ns["r"].text == text
    assert scripted.requests[0].headers["Accept-Encoding"] == "gzip, deflate"


# --- 2 and 13: answers that cannot be parsed ---------------------------------------------------

UNPARSEABLE = [
    ("nested", Answer(200, b"[" * 100_000), False, "nested too deeply"),
    ("nested object", Answer(200, b'{"a":' * 100_000), False, "nested too deeply"),
    ("nested event", Answer(200, b"data: " + b"[" * 100_000 + b"\n\n", "text/event-stream"), True, "nested too deeply"),
    ("huge number", Answer(200, b'{"success": true, "result": {"response": ' + b"9" * 5000 + b"}}"), False, "HTTP 200"),
    ("not utf-8 at all", Answer(200, b"\xff\xfe\x00\xd8" * 50), False, "could not be read"),
]


@pytest.mark.parametrize("name, reply, stream, words", UNPARSEABLE, ids=[c[0] for c in UNPARSEABLE])
def test_failure_2_an_answer_that_cannot_be_parsed_is_one_line_and_frees_the_budget(
    ip, scripted, magics, name, reply, stream, words
):
    ip.run_line_magic("llama_config", "budget=0.0001")  # room for about two requests' worst case
    scripted.script(reply, ok("Next one"))
    line = fails_in_one_line(ip, "%%llama" + (" --stream" if stream else "") + "\nHello")
    assert words in line
    assert magics.llama_session.spending._reserved == 0
    result, cap = run(ip, "%%llama\nAnd now?")  # the reservation was released: it fits
    assert result.success, cap.stderr


def test_failure_2_the_python_api_raises_with_no_key_in_any_frame(ip, scripted, magics):
    from dataoorts_magic.errors import BadResponseError

    scripted.script(Answer(200, b"[" * 100_000))
    with pytest.raises(BadResponseError) as info:
        magics.llama_session.send(magics.llama_session.request("Hello", {"max_retries": 0}))
    assert frames_holding(info.value, KEY) == []


def test_failure_13_a_few_invalid_utf8_bytes_are_replaced_not_fatal(ip, scripted):
    scripted.script(Answer(200, b'{"success": true, "result": {"response": "caf\xe9 na\xefve \xff ok"}}'))
    result, cap = run(ip, "%%llama -f text -o r\nHello")
    assert result.success, cap.stderr
    assert ip.user_ns["r"].text == "caf\ufffd na\ufffdve \ufffd ok"


@pytest.mark.parametrize("usage", [{"prompt_tokens": 1e999, "completion_tokens": 5}, {"prompt_tokens": -3}])
def test_usage_that_is_not_a_count_is_unknown_and_charged_its_worst_case(ip, scripted, magics, usage):
    raw = json.dumps({"success": True, "result": {"response": "hi", "usage": usage}}).replace("Infinity", "1e999")
    scripted.script(Answer(200, raw))
    ip.run_line_magic("llama_config", "budget=1")
    result, cap = run(ip, "%%llama\nHello")
    assert result.success, cap.stderr
    assert "usage not reported" in cap.outputs[0].data["text/plain"]
    assert magics.llama_session.spent > 0  # unknown cost under a budget counts as its worst case


# --- 13: headers past the limits ---------------------------------------------------------------

HEADERS = [
    ("200 headers", {f"X-Pad-{i}": "v" for i in range(200)}, "more than 100 response headers"),
    ("a 70 KB header", {"X-Pad": "v" * 70_000}, "header line longer than 64 KiB"),
]


@pytest.mark.parametrize("name, headers, words", HEADERS, ids=[c[0] for c in HEADERS])
def test_failure_13_headers_past_the_limits_are_named_and_not_retried(ip, scripted, name, headers, words):
    scripted.script(*[Answer(200, answer("hi"), headers=headers)] * 3)
    line = fails_in_one_line(ip, "%%llama\nHello")
    assert words in line and "dropped" not in line
    assert len(scripted.requests) == 1


# --- 6: bounded time ---------------------------------------------------------------------------

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
DRIPS = [
    ("headers a byte at a time", Answer(raw=[(HEAD + b"X-Slow: ", 0)] + [(b"a", 0.2)] * 500), False),
    (
        "body a byte at a time",
        Answer(raw=[(HEAD + b"Content-Length: 500\r\n\r\n", 0)] + [(b" ", 0.2)] * 500),
        False,
    ),
    ("keep-alive comments only", Answer(200, None, "text/event-stream", chunks=[(b": ping\n\n", 0.2)] * 500), True),
    (
        "a stream that never ends",
        Answer(200, None, "text/event-stream", chunks=[(sse({"response": "la "}, done=False), 0.2)] * 500),
        True,
    ),
]


@pytest.mark.parametrize("name, reply, stream", DRIPS, ids=[c[0] for c in DRIPS])
def test_failure_6_timeout_bounds_the_whole_request(ip, scripted, name, reply, stream):
    scripted.script(reply)
    ip.run_line_magic("llama_config", "timeout=1 max_retries=0")
    started = time.monotonic()
    line = fails_in_one_line(ip, "%%llama" + (" --stream" if stream else "") + "\nHello")
    assert time.monotonic() - started < 1 + SLACK  # a 1 byte/s drip held a timeout=3 cell 99 s
    assert "1 s timeout, which bounds the whole request" in line


def test_failure_6_each_retry_gets_the_whole_timeout_and_then_it_ends(ip, scripted):
    drip = Answer(raw=[(HEAD + b"Content-Length: 500\r\n\r\n", 0)] + [(b" ", 0.2)] * 500)
    scripted.script(drip, drip)
    ip.run_line_magic("llama_config", "timeout=1 max_retries=1")
    started = time.monotonic()
    line = fails_in_one_line(ip, "%%llama\nHello")
    assert time.monotonic() - started < 2 + SLACK
    assert len(scripted.requests) == 2 and "after 1 retry" in line


def test_a_stream_that_finishes_in_time_is_whole(ip, scripted):
    pieces = [(sse({"response": f"{i} "}, done=False), 0.01) for i in range(50)] + [(b"data: [DONE]\n\n", 0)]
    scripted.script(Answer(200, None, "text/event-stream", chunks=pieces))
    ip.run_line_magic("llama_config", "timeout=30")
    result, cap = run(ip, "%%llama --stream -q -o r\nCount")
    assert result.success, cap.stderr
    assert ip.user_ns["r"].text == "".join(f"{i} " for i in range(50))
    assert KEY not in everything_shown(cap)
