"""The HTTP client against a scripted loopback server: real sockets, real errors, real waits."""

from __future__ import annotations

import _thread
import signal
import threading
import time

import pytest

from dataoorts_magic import errors
from dataoorts_magic.client.chat_client import DataoortsClient, build_body
from dataoorts_magic.client.envelope import Reply

try:
    from support.scripted_server import Answer, ScriptedServer, fail, free_port, ok
except ImportError:  # tests/ became a package
    from tests.scripted_server import Answer, ScriptedServer, fail, free_port, ok

KEY = "sk-test-SECRET-0123456789abcdef"
MODEL = "meta/llama-3.1-8b-instruct"
MESSAGES = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}]


@pytest.fixture
def client(scripted):
    with DataoortsClient(scripted.url, backoff_base=0.01, backoff_max=0.05, timeout=5, connect_timeout=2) as c:
        yield c


def chat(client, **kw):
    return client.chat(MODEL, MESSAGES, {"max_tokens": 64}, api_key=KEY, **kw)


def assert_clean(err):
    """One line, and the key nowhere."""
    line = str(err)
    assert "\n" not in line
    assert KEY not in line and KEY not in repr(err) and all(KEY not in str(a) for a in err.args)
    assert KEY not in (err.provider_message or "")


# --- the request ---------------------------------------------------------------------------------


def test_build_body_puts_only_given_params_inside_data():
    body = build_body(MODEL, MESSAGES, {"max_tokens": 10, "temperature": 0.2, "seed": None})
    assert body == {"model": MODEL, "data": {"messages": MESSAGES, "max_tokens": 10, "temperature": 0.2}}
    assert build_body(MODEL, MESSAGES, {}, stream=True)["data"] == {"messages": MESSAGES, "stream": True}


def test_sends_the_exact_request(scripted, client):
    scripted.script(ok("Hi there"))
    client.chat(MODEL, MESSAGES, {"max_tokens": 64, "temperature": 0.2, "top_k": 5}, api_key=KEY)
    (seen,) = scripted.requests
    assert (seen.method, seen.path) == ("POST", "/api/v1")
    assert seen.headers["Authorization"] == f"Bearer {KEY}"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["User-Agent"].startswith("dataoorts-magic/")
    assert seen.json == {
        "model": MODEL,
        "data": {"messages": MESSAGES, "max_tokens": 64, "temperature": 0.2, "top_k": 5},
    }


def test_key_is_not_kept_on_the_client(scripted, client):
    scripted.script(ok())
    chat(client)
    assert KEY not in repr(client) and KEY not in repr(vars(client))


@pytest.mark.parametrize("bad", ["sk-with space", "sk-line\nbreak", "sk-\u00e9"])
def test_malformed_key_is_refused_before_sending(scripted, client, bad):
    with pytest.raises(errors.ConfigError) as info:
        client.chat(MODEL, MESSAGES, {}, api_key=bad)
    assert bad not in str(info.value) and not scripted.requests


def test_missing_key(scripted, client):
    with pytest.raises(errors.MissingKeyError):
        client.chat(MODEL, MESSAGES, {}, api_key="  ")
    assert not scripted.requests


def test_api_url_may_change_between_calls(scripted, client):
    with ScriptedServer() as other:
        other.script(ok("from the other"))
        client.api_url = other.url
        assert chat(client).text == "from the other"
    assert not scripted.requests


# --- success -------------------------------------------------------------------------------------


def test_success_with_usage(scripted, client):
    scripted.script(ok("**Hello**"))
    reply = chat(client)
    assert isinstance(reply, Reply)
    assert reply.text == "**Hello**" and reply.status == 200
    assert reply.usage == {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    assert reply.raw["success"] is True and reply.raw["result"]["response"] == "**Hello**"
    assert (reply.retries, reply.waited, reply.notes) == (0, 0.0, [])
    assert 0 < reply.elapsed < 5


def test_success_without_usage(scripted, client):
    scripted.script(ok("plain", usage=False))
    reply = chat(client)
    assert reply.text == "plain" and reply.usage is None


def test_tool_calls_and_extra_keys_are_ignored(scripted, client):
    answer = ok("with tools", tool_calls=[], padding="x" * 50)
    answer.body["extra"] = {"anything": 1}
    scripted.script(answer)
    reply = chat(client)
    assert reply.text == "with tools" and reply.raw["result"]["tool_calls"] == []


def test_missing_response_is_empty_text(scripted, client):
    scripted.script(
        Answer(
            body={"success": True, "result": {"usage": {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1}}}
        )
    )
    reply = chat(client)
    assert reply.text == "" and reply.usage["prompt_tokens"] == 1


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
        reply = chat(c)
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


def test_unusable_url(client):
    client.api_url = "not a url"
    with pytest.raises(errors.ConfigError) as info:
        chat(client)
    assert "DATAOORTS_API_URL" in str(info.value)


# --- interrupts and threads ----------------------------------------------------------------------


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


@pytest.mark.usefixtures("default_sigint")  # it interrupts itself
def test_kernel_interrupt_while_waiting_for_the_answer(scripted, client):
    """A real SIGINT to the main thread blocked on the socket stops the call; the pool stays usable."""
    scripted.script(Answer(body=ok().body, delay=5))
    timer = threading.Timer(0.3, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            chat(client)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 1.5
    scripted.script(ok("next"))
    assert chat(client).text == "next"


def test_loopback_endpoint_bypasses_a_configured_proxy(scripted, client, monkeypatch):
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{free_port()}")
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    scripted.script(ok("direct"))
    assert chat(client).text == "direct"


def test_proxy_environment_is_read_on_every_call(scripted, client, monkeypatch):
    """A proxy set (or fixed) between two calls is used by the next one: nothing is cached."""
    for var in ("HTTP_PROXY", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    client.api_url = "http://api.dataoorts.invalid/api/v1"  # not loopback, so the proxy applies
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(errors.ConnectionFailedError):
        chat(client, max_retries=0)
    monkeypatch.setenv("http_proxy", scripted.url.removesuffix("/api/v1"))
    scripted.script(ok("through the proxy"))
    assert chat(client).text == "through the proxy"
    (seen,) = scripted.requests
    assert seen.path == "http://api.dataoorts.invalid/api/v1"


def test_concurrent_calls_share_one_pool(scripted, client):
    n = 8
    scripted.script(*[Answer(body=ok(f"answer {i}").body, delay=0.3) for i in range(n)])
    results, failures = [], []

    def call():
        try:
            results.append(chat(client).text)
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=call) for _ in range(n)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and sorted(results) == sorted(f"answer {i}" for i in range(n))
    assert time.monotonic() - started < 0.3 * n / 2  # they ran at the same time
    # the pooled connections are kept alive and reused by later calls
    ports = {seen.client_port for seen in scripted.requests}
    scripted.script(ok(), ok())
    chat(client)
    chat(client)
    assert {seen.client_port for seen in scripted.requests[-2:]} <= ports


def test_a_finished_exchange_leaves_its_pooled_connection_alone(scripted, client):
    """The deadline of an answered request must not fire later on the connection it returned to the pool."""
    scripted.script(*[ok(f"answer {i}") for i in range(6)])
    for i in range(5):
        assert chat(client, timeout=0.3, max_retries=0).text == f"answer {i}"
    from dataoorts_magic.client import deadline

    horizon, give_up = time.monotonic() + 0.3, time.monotonic() + 10

    def due():  # deadlines of the five (or older) still waiting for the watchdog
        return [entry for entry in list(deadline._watchdog._heap) if entry[0] <= horizon]

    while due() and time.monotonic() < give_up:
        time.sleep(0.01)
    assert not due()
    assert chat(client, timeout=5, max_retries=0).retries == 0
    assert len({seen.client_port for seen in scripted.requests}) == 1  # one kept-alive connection throughout


@pytest.mark.usefixtures("default_sigint")  # it interrupts itself
def test_an_interrupted_exchange_leaves_no_deadline_running(scripted, client):
    """However an exchange ends (here a kernel interrupt while the server holds the answer), its
    deadline is finished, so the watchdog does not go on looking for a connection that is gone."""
    from dataoorts_magic.client import deadline

    scripted.script(Answer(delay=30, body=ok().body))

    def interrupt():
        while not scripted.requests:
            time.sleep(0.01)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        chat(client, timeout=60)
    assert all(entry[2]._done for entry in list(deadline._watchdog._heap))
