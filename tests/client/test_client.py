"""The HTTP client against a scripted loopback server: real sockets, real errors, one attempt a call.

What is retried and how long each wait is: tests/pipeline/test_retries.py (the one retry loop).
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
from support.client_calls import KEY, MESSAGES, MODEL

from dataoorts_magic import errors
from dataoorts_magic.client.chat_client import DataoortsClient, build_body
from dataoorts_magic.client.envelope import Reply

try:
    from support.scripted_server import Answer, ScriptedServer, free_port, ok
except ImportError:  # tests/ became a package
    from tests.scripted_server import Answer, ScriptedServer, free_port, ok


@pytest.fixture
def client(scripted):
    with DataoortsClient(scripted.url, timeout=5, connect_timeout=2) as c:
        yield c


def chat(client, max_retries=0, **kw):
    """One attempt (the client never retries: ``max_retries`` other than 0 belongs to the pipeline)."""
    assert max_retries == 0
    return client.exchange_once(MODEL, MESSAGES, {"max_tokens": 64}, api_key=KEY, **kw)


# --- the request ---------------------------------------------------------------------------------


def test_build_body_puts_only_given_params_inside_data():
    body = build_body(MODEL, MESSAGES, {"max_tokens": 10, "temperature": 0.2, "seed": None})
    assert body == {"model": MODEL, "data": {"messages": MESSAGES, "max_tokens": 10, "temperature": 0.2}}
    assert build_body(MODEL, MESSAGES, {}, stream=True)["data"] == {"messages": MESSAGES, "stream": True}


def test_sends_the_exact_request(scripted, client):
    scripted.script(ok("Hi there"))
    client.exchange_once(MODEL, MESSAGES, {"max_tokens": 64, "temperature": 0.2, "top_k": 5}, api_key=KEY)
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
        client.exchange_once(MODEL, MESSAGES, {}, api_key=bad)
    assert bad not in str(info.value) and not scripted.requests


def test_missing_key(scripted, client):
    with pytest.raises(errors.MissingKeyError):
        client.exchange_once(MODEL, MESSAGES, {}, api_key="  ")
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


# --- transport failures ----------------------------------------------------------------------------


def test_unusable_url(client):
    client.api_url = "not a url"
    with pytest.raises(errors.ConfigError) as info:
        chat(client)
    assert "DATAOORTS_API_URL" in str(info.value)


# --- interrupts and threads ----------------------------------------------------------------------


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
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and sorted(results) == sorted(f"answer {i}" for i in range(n))
    # they ran at the same time: a request arrived while another was still held for its 0.3 s
    arrivals = sorted(seen.time for seen in scripted.requests)
    assert any(later - earlier < 0.3 for earlier, later in zip(arrivals, arrivals[1:], strict=False))
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
