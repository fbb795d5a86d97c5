"""Every way the endpoint can fail, as a %%llama user sees it: requests made, wait, message, cell state, key."""

from __future__ import annotations

import itertools
import re
import signal
import threading
import time

import pytest
from support.scripted_server import Answer, fail, free_port, ok
from support.shell import KEY, everything_shown, run

HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"

# (name, scripted answers, requests the server should see, cell succeeds, words in the one-line message)
CASES = [
    ("401 auth", [fail(401, 10000, "Authentication error")], 1, False, ["Authentication failed", "HTTP 401", "key"]),
    ("403", [fail(403, None, "Forbidden")], 1, False, ["HTTP 403"]),
    ("400 bad input", [fail(400, 5006, "Type mismatch")], 1, False, ["HTTP 400", "5006"]),
    ("404 html", [Answer(404, "<html>Not Found</html>", "text/html")], 1, False, ["404", "DATAOORTS_API_URL"]),
    ("413 too large", [fail(413, 3006, "Request too large")], 1, False, ["413", "max_tokens"]),
    ("422", [fail(422, None, "Unprocessable")], 1, False, ["422"]),
    ("429 quota 3036", [fail(429, 3036, "Daily quota used")], 1, False, ["quota"]),
    ("429 quota 4006", [fail(429, 4006, "Quota exceeded")], 1, False, ["quota"]),
    ("503 x3", [fail(503, 3040, "Out of capacity")] * 3, 3, False, ["capacity", "3040"]),
    ("500 x3", [fail(500, None, "Internal")] * 3, 3, False, ["HTTP 500"]),
    ("502 html x3", [Answer(502, HTML_502, "text/html")] * 3, 3, False, ["502", "HTML"]),
    ("504 x3", [fail(504, None, "Gateway timeout")] * 3, 3, False, ["504"]),
    ("3040 on 200", [fail(200, 3040, "Out of capacity")] * 3, 3, False, ["3040"]),
    ("empty 200", [Answer(200, b"")], 1, False, ["could not be read"]),
    ("bad json", [Answer(200, b"{not json")], 1, False, ["could not be read"]),
    ("success false on 200", [fail(200, 5006, "Bad input")], 1, False, ["5006"]),
    ("no result", [Answer(200, {"success": True, "errors": []})], 1, False, ["could not be read"]),
    ("recovery after two 503s", [fail(503, 3040, "busy"), fail(503, 3040, "busy"), ok("Fine now")], 3, True, []),
    (
        "dropped mid-body, then ok",
        [Answer(200, {"success": True, "result": {"response": "x" * 500}}, drop_after=40), ok("Second try")],
        2,
        True,
        [],
    ),
]


@pytest.mark.parametrize("name, answers, requests, succeeds, words", CASES, ids=[c[0] for c in CASES])
def test_fault_matrix(ip, scripted, name, answers, requests, succeeds, words):
    scripted.script(*answers)
    result, cap = run(ip, "%%llama\nHello")
    assert len(scripted.requests) == requests
    assert result.success is succeeds
    shown = everything_shown(cap)
    assert KEY not in shown and "Traceback (most recent call last)" not in shown
    if succeeds:
        footer = cap.outputs[0].data["text/plain"].rsplit("\n-- ", 1)[1]
        assert "retried" in footer or "retry" in footer  # the user is told it waited
    else:
        line = cap.stderr.strip()
        assert line.startswith("UsageError: ") and "\n" not in line
        for word in words:
            assert word in line, line


def test_retry_after_is_honoured_and_said(ip, scripted):
    scripted.script(fail(429, 3040, "slow down", headers={"Retry-After": "1"}), ok("After waiting"))
    result, cap = run(ip, "%%llama\nHello")
    assert result.success
    first, second = scripted.requests
    assert second.time - first.time >= 1.0
    footer = cap.outputs[0].data["text/plain"].rsplit("\n-- ", 1)[1]
    assert re.search(r"waited \d", footer), footer


def test_429_without_retry_after_backs_off_and_gives_up_with_a_wait_hint(ip, scripted):
    scripted.script(*[fail(429, None, "rate limited")] * 3)
    result, cap = run(ip, "%%llama\nHello")
    assert len(scripted.requests) == 3 and not result.success
    assert "Rate limited" in cap.stderr and "Wait" in cap.stderr
    gaps = [b.time - a.time for a, b in itertools.pairwise(scripted.requests)]
    assert gaps[0] >= 0.3 and gaps[1] >= 0.6  # 0.5 s then 1 s, less at most a quarter of jitter


def test_missing_usage_is_shown_not_a_crash(ip, scripted):
    scripted.script(ok("No counts", usage=False))
    result, cap = run(ip, "%%llama\nHello")
    assert result.success
    footer = cap.outputs[0].data["text/plain"].rsplit("\n-- ", 1)[1]
    assert "usage not reported" in footer and "cost unknown" in footer


def test_read_timeout_is_one_line_with_the_setting_to_change(ip, scripted):
    scripted.script(Answer(200, {"success": True, "result": {"response": "late"}}, delay=3))
    ip.run_line_magic("llama_config", "timeout=0.5 max_retries=0")
    started = time.monotonic()
    result, cap = run(ip, "%%llama\nHello")
    assert time.monotonic() - started < 2.5
    assert not result.success and "0.5 s timeout" in cap.stderr and "timeout=" in cap.stderr


def test_connection_refused_is_one_line(ip, monkeypatch):
    monkeypatch.setenv("DATAOORTS_API_URL", f"http://127.0.0.1:{free_port()}/api/v1")
    monkeypatch.setenv("DATAOORTS_API_KEY", KEY)
    ip.run_line_magic("llama_config", "max_retries=1")
    result, cap = run(ip, "%%llama\nHello")
    assert not result.success
    assert "Could not connect" in cap.stderr and "DATAOORTS_API_URL" in cap.stderr


def test_plain_http_to_another_host_is_warned_before_the_key_is_sent(ip, magics, monkeypatch):
    monkeypatch.setenv("DATAOORTS_API_URL", f"http://192.0.2.1:{free_port()}/api/v1")  # TEST-NET: never routed
    monkeypatch.setenv("DATAOORTS_API_KEY", KEY)
    ip.run_line_magic("llama_config", "max_retries=0 connect_timeout=0.2")
    result, cap = run(ip, "%%llama\nHello")
    assert not result.success
    assert "https" in cap.stderr and KEY not in everything_shown(cap)


@pytest.mark.usefixtures("default_sigint")  # it interrupts itself
def test_an_interrupt_during_a_request_stops_at_once_and_the_next_cell_works(ip, monkeypatch):
    from dataoorts_magic.offline.server import OfflineServer

    with OfflineServer(api_key=KEY, script=[{"latency": 30}]) as slow:
        monkeypatch.setenv("DATAOORTS_API_URL", slow.url)
        monkeypatch.setenv("DATAOORTS_API_KEY", KEY)

        def interrupt_when_sent():
            deadline = time.monotonic() + 10
            while slow.in_flight == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # what the stop button sends

        threading.Thread(target=interrupt_when_sent, daemon=True).start()
        started = time.monotonic()
        result, cap = run(ip, "%%llama\nThis one is slow")
        assert type(result.error_in_exec).__name__ == "UsageError"
        assert cap.stderr.strip().startswith("UsageError: interrupted: ") and "\n" not in cap.stderr.strip()
        assert time.monotonic() - started < 5
        result, cap = run(ip, "%%llama\nAnd this one is not")
        assert result.success, cap.stderr
        assert slow.requests[-1]["body"]["data"]["messages"][0]["content"] == "And this one is not"
