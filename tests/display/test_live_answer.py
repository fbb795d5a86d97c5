"""%%llama --stream: one display updated in place while the answer arrives, over real loopback HTTP."""

from __future__ import annotations

import io
import math
import signal
import threading
import time

import pytest
from support.shell import everything_shown, run

from dataoorts_magic.display.live_answer import GROWTH, LiveAnswer
from dataoorts_magic.display.response import LlamaResponse, Usage

try:
    from support.scripted_server import Answer, ok, sse
except ImportError:  # tests/ became a package
    from tests.scripted_server import Answer, ok, sse

USAGE = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}


def pieces(data: bytes, size: int, delay: float = 0.0) -> list:
    """``data`` in chunks of ``size`` bytes; the first one sent after ``delay`` seconds."""
    return [(data[i : i + size], delay if i == 0 else 0.0) for i in range(0, len(data), size)]


def display_ids(cap) -> set:
    return {out.transient["display_id"] for out in cap.outputs}


def test_the_answer_updates_one_display_in_place(ip, scripted):
    first = sse({"response": "First part. ", "p": "padding"}, done=False)
    second = sse({"response": "Second part, ", "pad": "x" * 40, "id": 2}, done=False)
    last = sse({"response": "third part ✓."}, {"response": "", "usage": USAGE})
    chunks = pieces(first, 7) + pieces(second, 5, delay=0.3) + pieces(last, 3, delay=0.3)
    scripted.script(Answer(content_type="text/event-stream", chunks=chunks))
    result, cap = run(ip, "%%llama --stream -o r\nCount in parts")
    assert result.success, cap.stderr
    (seen,) = scripted.requests
    assert seen.json["data"]["stream"] is True and seen.headers["Accept"].startswith("text/event-stream")
    outs = cap.outputs
    assert len(display_ids(cap)) == 1 and len(outs) >= 3  # one display, updated at least twice
    assert not outs[0].update and all(out.update for out in outs[1:])
    assert outs[0].data["text/plain"].startswith("First part. \n") and "receiving" in outs[0].data["text/plain"]
    assert any(o.data["text/plain"].startswith("First part. Second part, \n") for o in outs[1:-1])
    final = outs[-1]
    assert final.data["text/plain"].startswith("First part. Second part, third part ✓.")
    assert "12 → 5 tokens" in final.data["text/plain"] and "12 → 5 tokens" in final.data["text/html"]
    assert final.metadata["dataoorts_magic"]["usage"]["total_tokens"] == 17
    assert ip.user_ns["r"].text == "First part. Second part, third part ✓."
    assert "padding" not in everything_shown(cap)


def test_a_stream_without_usage_says_so(ip, scripted):
    scripted.script(Answer(content_type="text/event-stream", chunks=pieces(sse({"response": "No usage here."}), 4)))
    result, cap = run(ip, "%%llama --stream\nHi")
    assert result.success, cap.stderr
    final = cap.outputs[-1].data["text/plain"]
    assert final.startswith("No usage here.") and "usage not reported" in final and "cost unknown" in final


def test_a_plain_json_answer_to_a_stream_request_is_shown_as_usual(ip, scripted):
    scripted.script(ok("A whole answer."))
    result, cap = run(ip, "%%llama --stream -o r\nHi")
    assert result.success, cap.stderr
    assert scripted.requests[0].json["data"]["stream"] is True
    assert len(display_ids(cap)) == 1
    final = cap.outputs[-1]
    assert final.data["text/plain"] == "A whole answer.\n\n-- " + ip.user_ns["r"].footer()
    assert "12 → 5 tokens" in final.data["text/plain"] and "streamed" not in ip.user_ns["r"].raw


def test_the_offline_endpoint_streams_when_asked(ip, online):
    result, cap = run(ip, "%%llama --stream -o r\nTell me a story")
    assert result.success, cap.stderr
    assert online.requests[-1]["body"]["data"]["stream"] is True
    r = ip.user_ns["r"]
    assert r.raw["streamed"] is True and r.usage is not None and r.usage.completion_tokens > 0
    assert cap.outputs[-1].data["text/plain"].startswith(r.text)


def test_the_stream_setting_turns_it_on_and_quiet_shows_nothing(ip, online):
    run(ip, "%llama_config stream=on")
    result, cap = run(ip, "%%llama -o r\nHi")
    assert result.success and online.requests[-1]["body"]["data"]["stream"] is True
    assert len(display_ids(cap)) == 1
    result, cap = run(ip, "%%llama --stream -q -o r\nHi")
    assert result.success and cap.outputs == [] and online.requests[-1]["body"]["data"]["stream"] is True
    assert ip.user_ns["r"].raw["streamed"] is True
    run(ip, "%llama_config stream=off")
    run(ip, "%%llama -q -o r\nHi")
    assert "stream" not in online.requests[-1]["body"]["data"]


def test_json_format_is_parsed_at_the_end(ip, online):
    result, cap = run(ip, "%%llama --stream -f json -o obj\nReply with json please")
    assert result.success, cap.stderr
    assert isinstance(ip.user_ns["obj"], (dict, list))
    final = cap.outputs[-1].data
    assert "application/json" not in final and "codehilite" in final["text/html"]  # highlighted JSON, footer below
    assert "dataoorts-footer" in final["text/html"]
    assert "<pre" in cap.outputs[0].data["text/html"]  # shown verbatim while it arrives


def test_streamed_text_is_sanitized_while_it_arrives(ip, scripted):
    evil = sse(
        {"response": "<script>alert(1)</script> "}, {"response": "[x](javascript:alert(2)) <img src=x onerror=y>"}
    )
    scripted.script(Answer(content_type="text/event-stream", chunks=pieces(evil, 9)))
    result, cap = run(ip, "%%llama --stream\nHi")
    assert result.success
    for out in cap.outputs:
        html, md = out.data["text/html"], out.data["text/markdown"]
        assert "<script" not in html and "onerror" not in html.replace("onerror=y&gt;", "")
        assert "<img" not in html and 'href="javascript' not in html
        assert "<script" not in md and "javascript:" not in md


@pytest.mark.usefixtures("default_sigint")  # it interrupts itself
def test_a_kernel_interrupt_closes_the_stream_and_keeps_what_arrived(ip, scripted):
    slow = [(sse({"response": "Arrived."}, done=False), 0.0), (sse({"response": " Never shown."}), 5.0)]
    scripted.script(Answer(content_type="text/event-stream", chunks=slow), ok("next"))

    def interrupt_once_shown():
        deadline = time.monotonic() + 10
        while not getattr(ip.display_pub, "outputs", None):  # the first update is on screen
            assert time.monotonic() < deadline
            time.sleep(0.002)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    watcher = threading.Thread(target=interrupt_once_shown)
    started = time.monotonic()
    watcher.start()
    try:
        result, cap = run(ip, "%%llama --stream -o r\nSlowly")
    finally:
        watcher.join()
    assert time.monotonic() - started < 4  # it did not wait for the next piece
    assert not result.success
    assert str(result.error_in_exec) == (
        "Interrupted: the stream was closed after 8 characters; what arrived is shown above."
    )
    final = cap.outputs[-1]
    assert final.update and final.data["text/plain"].startswith("Arrived.\n")
    assert "interrupted after 8 characters" in final.data["text/plain"]
    assert "Never shown" not in everything_shown(cap)
    result, cap = run(ip, "%%llama -o r\nAgain")  # the connection was closed cleanly: the next call works
    assert result.success and ip.user_ns["r"].text == "next"


def test_a_stream_that_breaks_keeps_the_text_and_fails_in_one_line(ip, scripted):
    data = sse({"response": "Half an answer"}, {"response": " and the rest"})
    cut = len(sse({"response": "Half an answer"}, done=False))
    scripted.script(
        Answer(content_type="text/event-stream", chunks=[(data[:cut], 0.0), (data[cut:], 0.0)], drop_after=1)
    )
    result, cap = run(ip, "%%llama --stream\nHi")
    assert not result.success
    line = str(result.error_in_exec)
    assert "dropped" in line and "14 characters" in line and "\n" not in line
    final = cap.outputs[-1].data["text/plain"]
    assert final.startswith("Half an answer\n") and "stopped after 14 characters" in final


def test_rendering_stays_linear_in_the_answer_length(ip):
    """Every piece arriving a second apart (the throttle's time rule always met): the growth rule
    alone must keep the number of updates logarithmic and the rendered characters linear."""
    from IPython.utils.capture import capture_output

    now = [0.0]

    def clock():
        now[0] += 1.0
        return now[0]

    n, size = 2000, 10
    with capture_output() as cap:
        view = LiveAnswer("markdown", clock=clock)
        for i in range(n):
            view.add(f"w{i:04d} abc ")
    total = n * size
    assert view.length == total
    assert view.updates <= 2 + math.log(total / size) / math.log(1 + GROWTH)
    rendered = sum(len(out.data["text/plain"]) for out in cap.outputs)
    assert rendered <= (1 + 1 / GROWTH) * total + 64 * view.updates
    assert cap.outputs[-1].data["text/plain"].startswith(view.text[: total - total // 5])


def test_fast_pieces_are_batched_by_the_time_rule(ip):
    from IPython.utils.capture import capture_output

    with capture_output() as cap:
        view = LiveAnswer("markdown", clock=lambda: 5.0)  # no time passes between pieces
        for _ in range(500):
            view.add("word ")
    assert view.updates == 1 and len(cap.outputs) == 1  # only the first piece, shown at once


def test_terminal_prints_plain_deltas_then_the_footer():
    out = io.StringIO()
    view = LiveAnswer("markdown", terminal=True, out=out)
    for piece in ("Hello", ", ", "world."):
        view.add(piece)
    assert out.getvalue() == "Hello, world."
    response = LlamaResponse(
        text="Hello, world.",
        model="meta/llama-3.1-8b-instruct",
        params={"max_tokens": 512},
        messages=[],
        usage=Usage(3, 4, 7),
        cost=0.0000005,
    )
    view.finish(response)
    assert out.getvalue() == f"Hello, world.\n\n-- {response.footer()}\n"
    stopped = io.StringIO()
    view = LiveAnswer("markdown", terminal=True, out=stopped)
    view.add("Half")
    view.stop("interrupted after 4 characters")
    assert stopped.getvalue() == "Half\n-- interrupted after 4 characters\n"
