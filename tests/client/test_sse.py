"""Server-sent events: the pure parser, then streamed answers over a real loopback socket."""

from __future__ import annotations

import functools
import json
import signal
import threading
import time

import pytest

from dataoorts_magic import errors
from dataoorts_magic.client.chat_client import DataoortsClient
from dataoorts_magic.client.retry_policy import RetryPolicy
from dataoorts_magic.client.sse import SSEDecoder, StreamFormatError, TextStream, iter_events
from dataoorts_magic.pipeline.rate_limit import RateLimiter
from dataoorts_magic.pipeline.retries import send_with_retries

try:
    from support.scripted_server import Answer, ok, sse
except ImportError:  # tests/ became a package
    from tests.scripted_server import Answer, ok, sse

KEY = "sk-test-SECRET-stream-0123456789"
MODEL = "meta/llama-3.1-8b-instruct"
MESSAGES = [{"role": "user", "content": "Count to three"}]
USAGE = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
EVENTS = sse(
    {"response": "One, ", "p": "padding"},
    {"response": "two, "},
    {"response": "three. ✓", "p": "abcdefghij"},
    {"response": "", "usage": USAGE},
)


def decode_all(data: bytes, cuts) -> list:
    decoder, events, start = SSEDecoder(), [], 0
    for cut in [*cuts, len(data)]:
        events += decoder.feed(data[start:cut])
        start = cut
    return events + decoder.close()


# --- the pure parser -------------------------------------------------------------------------------


def test_events_split_at_every_byte_give_the_same_result():
    whole = decode_all(EVENTS, [])
    assert [e.data for e in whole][-1] == "[DONE]" and len(whole) == 5
    for cut in range(1, len(EVENTS)):
        assert decode_all(EVENTS, [cut]) == whole, cut
    assert decode_all(EVENTS, range(1, len(EVENTS))) == whole  # one byte at a time, UTF-8 split too


def test_sse_spec_details():
    data = (
        b"\xef\xbb\xbf: a comment\r\n"
        b"event: note\r\nid: 7\r\nretry: 3000\r\ndata: first\r\ndata:second\r\ndata\r\n\r\n"
        b"\n\n"  # blank lines with no data dispatch nothing
        b"data: cr only\r\rdata: x\n"
    )  # CR line endings; a last event without a blank line
    events = decode_all(data, [len(data) - 20])
    assert [(e.event, e.data, e.id, e.retry) for e in events] == [
        ("note", "first\nsecond\n", "7", 3000),
        ("message", "cr only", "7", 3000),
        ("message", "x", "7", 3000),
    ]


def test_crlf_split_across_chunks_is_one_line_break():
    events = decode_all(b"data: a\r\n\r\ndata: b\r\n\r\n", [8, 9])
    assert [e.data for e in events] == ["a", "b"]


def test_a_line_cut_off_by_the_end_is_dropped():
    assert [e.data for e in decode_all(b'data: {"response": "ok"}\n\ndata: {"resp', [])] == ['{"response": "ok"}']


def test_iter_events_from_lines():
    lines = ["data: 1", "", ": keepalive", "", "data: 2", "data: 3", "", "data: [DONE]"]
    assert [e.data for e in iter_events(lines)] == ["1", "2\n3", "[DONE]"]


def test_text_stream_reads_pieces_usage_and_done():
    reader = TextStream()
    pieces = []
    for i in range(0, len(EVENTS), 7):
        pieces += reader.feed(EVENTS[i : i + 7])
    pieces += reader.finish()
    assert pieces == ["One, ", "two, ", "three. ✓"] and reader.text == "One, two, three. ✓"
    assert reader.usage == USAGE and reader.done and reader.error is None


def test_text_stream_missing_usage_and_ignores_after_done():
    reader = TextStream()
    assert reader.feed(sse({"response": "a"}) + sse({"response": "after done"}, done=False)) == ["a"]
    assert reader.usage is None and reader.text == "a"


def test_text_stream_error_event_and_garbage():
    reader = TextStream()
    reader.feed(sse({"response": "a"}, {"success": False, "errors": [{"code": 3040, "message": "busy"}]}, done=False))
    assert reader.done and reader.error["errors"][0]["code"] == 3040 and reader.text == "a"
    with pytest.raises(StreamFormatError):
        TextStream().feed(b"data: not json\n\n")


# --- streamed answers over HTTP ------------------------------------------------------------------------


@pytest.fixture
def client(scripted):
    with DataoortsClient(scripted.url, timeout=5, connect_timeout=2) as c:
        yield c


def stream(client, **kw):
    """A streamed request as the session sends it: through the one retry loop (small waits)."""
    pieces = []
    attempt = functools.partial(
        client.exchange_once, MODEL, MESSAGES, {"max_tokens": 32}, api_key=KEY, stream=True, on_text=pieces.append, **kw
    )
    reply = send_with_retries(attempt, RateLimiter(), RetryPolicy(2, base=0.01))
    return reply, pieces


def chunked(data: bytes, size: int, delay: float = 0.0):
    return [(data[i : i + size], delay) for i in range(0, len(data), size)]


def event_stream(data: bytes, size=11, delay=0.0, **kw) -> Answer:
    return Answer(content_type="text/event-stream", chunks=chunked(data, size, delay), **kw)


def test_streams_pieces_as_they_arrive(scripted, client):
    scripted.script(event_stream(EVENTS, size=11, delay=0.01))
    reply, pieces = stream(client)
    assert pieces == ["One, ", "two, ", "three. ✓"]
    assert reply.text == "One, two, three. ✓" and reply.usage == USAGE and reply.notes == []
    assert reply.raw == {"success": True, "result": {"response": reply.text, "usage": USAGE}, "streamed": True}
    (seen,) = scripted.requests
    assert seen.json["data"]["stream"] is True and seen.json["data"]["max_tokens"] == 32
    assert seen.headers["Accept"].startswith("text/event-stream")


def test_stream_without_chunked_encoding(scripted, client):
    scripted.script(Answer(content_type="text/event-stream; charset=utf-8", body=EVENTS))
    reply, pieces = stream(client)
    assert reply.text == "One, two, three. ✓" and len(pieces) == 3


def test_stream_without_usage(scripted, client):
    scripted.script(event_stream(sse({"response": "no usage here"})))
    reply, _ = stream(client)
    assert reply.text == "no usage here" and reply.usage is None


def test_stream_that_ends_without_done_is_kept_with_a_note(scripted, client):
    scripted.script(event_stream(sse({"response": "abrupt"}, done=False)))
    reply, _ = stream(client)
    assert reply.text == "abrupt" and "[DONE]" in reply.notes[0]


def test_plain_json_answer_to_a_stream_request(scripted, client):
    scripted.script(ok("whole answer"))
    reply, pieces = stream(client)
    assert pieces == ["whole answer"] and reply.text == "whole answer" and reply.usage["total_tokens"] == 17


def test_stream_dropped_midway_keeps_the_partial_text(scripted, client):
    scripted.script(
        event_stream(EVENTS, size=len(b'data: {"response": "One, ", "p": "padding"}\n\n'), drop_after=1),
        ok("must not be asked"),
    )
    with pytest.raises(errors.ConnectionFailedError) as info:
        stream(client)
    err = info.value
    assert err.partial_text == "One, " and "5 characters" in str(err) and "\n" not in str(err)
    assert "run the cell again" in str(err).lower()
    assert len(scripted.requests) == 1  # text was shown already: no retry
    assert KEY not in repr(err)


def test_stream_dropped_before_any_text_is_retried(scripted, client):
    scripted.script(event_stream(b": warming up\n\n" + EVENTS, size=14, drop_after=1), event_stream(EVENTS))
    reply, pieces = stream(client)
    assert reply.text == "One, two, three. ✓" and reply.retries == 1 and len(scripted.requests) == 2
    assert pieces == ["One, ", "two, ", "three. ✓"]


def test_error_event_in_the_stream(scripted, client):
    busy = sse({"success": False, "errors": [{"code": 3040, "message": "out of capacity"}]}, done=False)
    scripted.script(event_stream(busy), event_stream(sse({"response": "ok"})))
    reply, _ = stream(client)
    assert reply.text == "ok" and reply.retries == 1
    scripted.script(event_stream(sse({"response": "half"})[: -len("data: [DONE]\n\n")] + busy))
    with pytest.raises(errors.CapacityError) as info:
        stream(client)
    assert info.value.partial_text == "half" and "code 3040" in str(info.value)


def test_garbage_in_the_stream_is_a_bad_response(scripted, client):
    scripted.script(event_stream(b"data: <html>\n\n"))
    with pytest.raises(errors.BadResponseError) as info:
        stream(client)
    assert "not JSON" in str(info.value) and len(scripted.requests) == 1


def test_stream_errors_before_streaming_are_mapped(scripted, client):
    scripted.script(Answer(status=429, body=json.dumps({"success": False, "errors": [{"code": 3036, "message": "q"}]})))
    with pytest.raises(errors.QuotaExceededError):
        stream(client)


def test_interrupt_from_on_text_closes_the_stream(scripted, client):
    scripted.script(event_stream(EVENTS, size=11, delay=0.05))

    def on_text(piece):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client.exchange_once(MODEL, MESSAGES, {}, api_key=KEY, stream=True, on_text=on_text)
    scripted.script(ok("next call works"))
    assert client.exchange_once(MODEL, MESSAGES, {}, api_key=KEY).text == "next call works"


@pytest.mark.usefixtures("default_sigint")  # it interrupts itself
def test_kernel_interrupt_while_the_stream_waits(scripted, client):
    """A real SIGINT to the main thread while it blocks reading a slow stream stops it at once."""
    slow = [(sse({"response": "first"}, done=False), 0.0), (sse({"response": "late"}), 5.0)]
    scripted.script(Answer(content_type="text/event-stream", chunks=slow))
    timer = threading.Timer(0.3, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    pieces = []
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            client.exchange_once(MODEL, MESSAGES, {}, api_key=KEY, stream=True, on_text=pieces.append)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 1.5 and pieces == ["first"]
    scripted.script(ok("after the interrupt"))
    assert client.exchange_once(MODEL, MESSAGES, {}, api_key=KEY).text == "after the interrupt"


def test_one_huge_event_is_parsed_in_linear_time():
    """A 50 MB event in 64 KiB pieces: each piece is searched once (it was quadratic: 16 MB took 20 s,
    50 MB did not finish in 200 s). The parse runs in a thread so the test's own wait can be bounded."""
    text = "z" * 50_000_000
    body = b"data: " + json.dumps({"response": text}).encode() + b"\r\n\r\ndata: [DONE]\r\n\r\n"
    stream, out = TextStream(), []

    def parse():
        for i in range(0, len(body), 65536):
            out.extend(stream.feed(body[i : i + 65536]))

    worker = threading.Thread(target=parse, daemon=True)
    worker.start()
    worker.join(120)
    assert not worker.is_alive() and stream.done and out == [text]


def test_a_crlf_split_between_pieces_ends_one_line_only():
    data = b'data: {"response": "a"}\r\n\r\ndata: {"response": "b"}\r\n\r\n'
    for cut in range(1, len(data)):
        events = decode_all(data, [cut])
        assert [e.data for e in events] == ['{"response": "a"}', '{"response": "b"}'], cut


def test_an_event_nested_too_deeply_is_a_stream_format_error():
    with pytest.raises(StreamFormatError, match="nested too deeply"):
        TextStream().feed(b"data: " + b"[" * 100_000 + b"\n\n")
