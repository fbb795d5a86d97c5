"""The one retry loop (pipeline/retries.py) over the real HTTP client and a scripted loopback server.

Moved from tests/client/test_client.py when the client became one attempt a call: which
failures are retried, how many times, how long each wait is, and what the error then says.
"""

from __future__ import annotations

import _thread
import functools
import threading
import time

import pytest
from support.client_calls import KEY, MESSAGES, MODEL, assert_clean
from support.scripted_server import Answer, fail, free_port, ok

from dataoorts_magic import errors
from dataoorts_magic.client.chat_client import DataoortsClient
from dataoorts_magic.client.retry_policy import RetryPolicy
from dataoorts_magic.pipeline.rate_limit import RateLimiter
from dataoorts_magic.pipeline.retries import send_with_retries


@pytest.fixture
def client(scripted):
    with DataoortsClient(scripted.url, timeout=5, connect_timeout=2) as c:
        yield c


def chat(client, *, max_retries=2, policy=None, on_retry=None, limiter=None, control=None, **kw):
    """One request through the retry loop, with small waits (base 0.01 s, cap 0.05 s) unless ``policy`` says."""
    policy = policy or RetryPolicy(max_retries, base=0.01, cap=0.05)
    attempt = functools.partial(client.exchange_once, MODEL, MESSAGES, {"max_tokens": 64}, api_key=KEY, **kw)
    return send_with_retries(attempt, limiter or RateLimiter(), policy, on_retry=on_retry, control=control)


# --- the fault matrix ----------------------------------------------------------------------------

HTML = Answer(
    status=502, body="<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 5000, content_type="text/html"
)
ECHO = f"key {KEY} is wrong"  # a server that echoes the key back

FAULTS = [
    # (id, answer, error class, requests seen, text that must be in the line)
    ("400", fail(400, 5006, ECHO), errors.BadRequestError, 1, ["HTTP 400", "code 5006"]),
    ("401", fail(401, 10000, ECHO), errors.AuthenticationError, 1, ["HTTP 401", "code 10000"]),
    ("401-empty", Answer(status=401, body=b""), errors.AuthenticationError, 1, ["HTTP 401", "empty body"]),
    ("403", fail(403, None, ECHO), errors.PermissionDeniedError, 1, ["HTTP 403"]),
    ("404", fail(404, 5007, "No such model"), errors.ModelNotFoundError, 1, ["HTTP 404", "code 5007"]),
    (
        "404-html",
        Answer(status=404, body="<html>Not Found</html>", content_type="text/html"),
        errors.ModelNotFoundError,
        1,
        ["HTTP 404", "HTML page", "DATAOORTS_API_URL"],
    ),
    ("408", fail(408, 3007, ECHO), errors.RequestTimeoutError, 3, ["HTTP 408", "code 3007"]),
    ("413", fail(413, 3006, ECHO), errors.RequestTooLargeError, 1, ["HTTP 413", "code 3006"]),
    ("422", fail(422, None, ECHO), errors.BadRequestError, 1, ["HTTP 422"]),
    ("429", fail(429, None, ECHO), errors.RateLimitError, 3, ["HTTP 429"]),
    ("429-3036", fail(429, 3036, ECHO), errors.QuotaExceededError, 1, ["HTTP 429", "code 3036"]),
    ("429-4006", fail(429, 4006, ECHO), errors.QuotaExceededError, 1, ["HTTP 429", "code 4006"]),
    ("500", fail(500, None, ECHO), errors.ServerError, 3, ["HTTP 500"]),
    ("502-html", HTML, errors.ServerError, 3, ["HTTP 502", "HTML page from a proxy: 502 Bad Gateway"]),
    ("503", fail(503, None, ECHO), errors.CapacityError, 3, ["HTTP 503"]),
    ("503-empty", Answer(status=503, body=b"", content_type=None), errors.CapacityError, 3, ["empty body"]),
    ("503-3040", fail(503, 3040, ECHO), errors.CapacityError, 3, ["HTTP 503", "code 3040"]),
    ("504", fail(504, None, ECHO), errors.ServerError, 3, ["HTTP 504"]),
    ("200-3040", fail(200, 3040, ECHO), errors.CapacityError, 3, ["HTTP 200", "code 3040"]),
    ("200-10000", fail(200, 10000, ECHO), errors.AuthenticationError, 1, ["code 10000"]),
    ("200-success-false", fail(200, None, ECHO), errors.BadResponseError, 1, ["HTTP 200"]),
    ("200-bad-json", Answer(body=b'{"success": tru'), errors.BadResponseError, 1, ["not JSON"]),
    ("200-no-result", Answer(body={"success": True, "errors": []}), errors.BadResponseError, 1, ["no 'result'"]),
    ("200-empty", Answer(body=b""), errors.BadResponseError, 1, ["empty body"]),
    (
        "200-html",
        Answer(body="<!doctype html><p>login</p>", content_type="text/html"),
        errors.BadResponseError,
        1,
        ["HTML page"],
    ),
    ("200-list", Answer(body=[1, 2]), errors.BadResponseError, 1, ["not an object"]),
    (
        "302",
        Answer(status=302, body=b"", headers={"Location": "https://elsewhere.example/"}),
        errors.BadResponseError,
        1,
        ["HTTP 302", "elsewhere.example"],
    ),
]


@pytest.mark.parametrize("answer, kind, seen, words", [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_fault_matrix(scripted, client, answer, kind, seen, words):
    scripted.script(answer, answer, answer, ok("never reached"))
    with pytest.raises(errors.LlamaError) as info:
        chat(client)
    err = info.value
    assert type(err) is kind
    assert len(scripted.requests) == seen
    assert_clean(err)
    for word in words:
        assert word in str(err)
    assert err.fix_text() and err.fix_text() in str(err)
    if seen > 1:
        assert err.retries == seen - 1 and f"after {seen - 1} retries" in str(err)
    assert len(err.provider_message or "") <= 200


# --- retries, waits and backoff --------------------------------------------------------------------


def test_recovers_after_two_503s(scripted, client):
    scripted.script(fail(503), fail(503), ok("finally"))
    lines = []
    reply = chat(client, on_retry=lines.append)
    assert reply.text == "finally" and reply.retries == 2 and len(scripted.requests) == 3
    assert len(lines) == 2 and all("HTTP 503" in line and "retrying in" in line for line in lines)
    assert reply.notes == [n for n in reply.notes if n.startswith("retried after HTTP 503 (waited")]
    assert len(reply.notes) == 2
    # backoff_base=0.01: waits of 0.01 and 0.02 s, each cut by at most 25 % jitter
    assert 0.0225 <= reply.waited < 0.5


def test_default_backoff_waits_half_a_second(scripted):
    scripted.script(fail(500), ok())
    with DataoortsClient(scripted.url) as c:
        reply = chat(c, policy=RetryPolicy())  # the default policy: 0.5 s, doubling
    gap = scripted.requests[1].time - scripted.requests[0].time
    assert 0.375 <= reply.waited <= 0.6 and gap >= 0.375 and reply.retries == 1


def test_retry_after_is_honoured(scripted, client):
    scripted.script(fail(429, None, "slow down", headers={"Retry-After": "1"}), ok("ok now"))
    reply = chat(client, max_retries=1)
    assert reply.text == "ok now" and len(scripted.requests) == 2
    assert reply.waited >= 1.0 and scripted.requests[1].time - scripted.requests[0].time >= 1.0


def test_retry_after_beyond_the_cap_fails_at_once(scripted, client):
    scripted.script(fail(429, None, "slow down", headers={"Retry-After": "120"}), ok())
    started = time.monotonic()
    with pytest.raises(errors.RateLimitError) as info:
        chat(client)
    assert time.monotonic() - started < 1 and len(scripted.requests) == 1
    assert info.value.retry_after == 120 and "120 s" in str(info.value)


def test_per_call_max_retries(scripted, client):
    scripted.script(fail(503), ok())
    with pytest.raises(errors.CapacityError):
        chat(client, max_retries=0)
    assert len(scripted.requests) == 1


def test_quota_is_never_retried_even_with_retry_after(scripted, client):
    scripted.script(fail(429, 3036, "daily quota", headers={"Retry-After": "1"}), ok())
    with pytest.raises(errors.QuotaExceededError) as info:
        chat(client)
    assert len(scripted.requests) == 1 and "tomorrow" in str(info.value)


# --- transport failures --------------------------------------------------------------------------


def test_connection_refused(client):
    client.api_url = f"http://127.0.0.1:{free_port()}/api/v1"
    with pytest.raises(errors.ConnectionFailedError) as info:
        chat(client)
    err = info.value
    assert_clean(err)
    assert "connection refused" in str(err) and "after 2 retries" in str(err) and "DATAOORTS_API_URL" in str(err)


def test_read_timeout_is_retried_then_reported(scripted, client):
    scripted.script(Answer(delay=1.0, body=ok().body), Answer(delay=1.0, body=ok().body))
    started = time.monotonic()
    with pytest.raises(errors.RequestTimeoutError) as info:
        chat(client, timeout=0.2, max_retries=1)
    assert time.monotonic() - started < 1.0 and len(scripted.requests) == 2
    assert "0.2 s timeout" in str(info.value) and "timeout=" in str(info.value)
    assert_clean(info.value)


def test_connection_dropped_mid_body_is_retried(scripted, client):
    dropped = Answer(body=ok("cut").body, drop_after=12)
    scripted.script(dropped, dropped, ok("whole"))
    reply = chat(client)
    assert reply.text == "whole" and reply.retries == 2 and len(scripted.requests) == 3
    assert "connection error" in reply.notes[0]


def test_connection_dropped_every_time(scripted, client):
    dropped = Answer(body=ok("cut").body, drop_after=12)
    scripted.script(dropped, dropped, dropped)
    with pytest.raises(errors.ConnectionFailedError) as info:
        chat(client)
    assert "dropped" in str(info.value) and len(scripted.requests) == 3
    assert_clean(info.value)


@pytest.mark.usefixtures("default_sigint")  # it interrupts itself
def test_keyboard_interrupt_during_backoff_is_prompt(scripted, client):
    scripted.script(fail(503, None, "busy", headers={"Retry-After": "5"}))
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            chat(client)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 1.0 and len(scripted.requests) == 1
    scripted.script(ok("still works"))
    assert chat(client).text == "still works"


# --- the one loop, through a real shell: counted once, waited once ----------------------------------


def test_a_cell_waits_out_retry_after_once_and_says_so(ip, scripted):
    from support.shell import run

    scripted.script(fail(429, 3040, "slow down", headers={"Retry-After": "1"}), ok("after the wait"))
    run(ip, "%llama_config rate_limit=0")
    result, cap = run(ip, "%%llama\nHello")
    assert result.success, cap.stderr
    first, second = scripted.requests
    gap = second.time - first.time
    assert 1.0 <= gap < 2.0  # waited out once (the limiter's hold), not once more by a second loop
    assert "retried once after a rate limit (waited 1.0 s)" in cap.outputs[-1].data["text/plain"]


def test_refusals_and_faults_of_a_cell_share_its_max_retries_and_the_error_counts_them_all(ip, scripted):
    from support.shell import run

    refused = fail(429, 3040, "busy", headers={"Retry-After": "0"})
    scripted.script(refused, fail(503), fail(503), ok("never reached"))
    run(ip, "%llama_config rate_limit=0")
    result, _ = run(ip, "%%llama\nHello")
    assert not result.success and len(scripted.requests) == 3  # a refusal and a 503 retried: 2 of 2 used
    line = str(result.error_in_exec)
    assert "HTTP 503" in line and "after 2 retries" in line


def test_a_backoff_wait_does_not_hold_up_the_requests_behind_it(scripted, client):
    """A retry's own backoff is waited outside the queue: another request goes meanwhile."""
    limiter = RateLimiter()
    scripted.script(fail(503, None, "busy", headers={"Retry-After": "1"}), ok("other"), ok("retried"))
    done = {}

    def first():
        done["first"] = chat(client, limiter=limiter).text

    thread = threading.Thread(target=first)
    thread.start()
    while not scripted.requests:
        time.sleep(0.01)
    done["second"] = chat(client, limiter=limiter).text  # asks while the first waits out its Retry-After
    thread.join()
    assert done == {"first": "retried", "second": "other"}
    assert [r.time - scripted.requests[0].time < 1.0 for r in scripted.requests] == [True, True, False]


def test_a_batch_control_stops_a_request_waiting_for_its_retry(scripted, client):
    """The batch's check() is called during every wait of the loop: a cancel lands at once."""
    from dataoorts_magic.pipeline.rate_limit import Withdrawn

    stop = threading.Event()

    class Control:
        refusals = 0

        def check(self):
            if stop.is_set():
                raise Withdrawn("Not sent: the run had stopped")

        def before_attempt(self):
            self.check()

        def rate_limited(self, wait):
            self.refusals += 1

    scripted.script(fail(503, None, "busy", headers={"Retry-After": "5"}), ok("never"))
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    with pytest.raises(Withdrawn):
        chat(client, control=Control())
    assert time.monotonic() - started < 1.5 and len(scripted.requests) == 1
