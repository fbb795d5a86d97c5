"""One rate limit for the session and adaptive backoff, over real HTTP to loopback endpoints.

The per-second-window server (tests/support/window_server.py) refuses what passes 10 requests in
any one second with 429 / code 3040 / Retry-After, as the platform does. What a test asserts is
what an analyst must be able to trust (no item lost, answers in input order, what the display
says); the 429 share and the wall time are printed, never asserted (benchmarks/batch.py reports them).
"""

from __future__ import annotations

import re
import threading
import time
from contextlib import closing

import pytest
from support.scripted_server import Answer, fail, ok
from support.shell import everything_shown, run
from support.window_server import WindowServer

from dataoorts_magic.pipeline import rate_limit

pytestmark = pytest.mark.paced  # the client's real pacing default (300/min), not the suite's rate_limit=0


@pytest.fixture
def window(monkeypatch):
    from support.shell import KEY

    with closing(WindowServer(per_second=10, latency=0.05)) as srv:
        monkeypatch.setenv("DATAOORTS_API_URL", srv.url)
        monkeypatch.setenv("DATAOORTS_API_KEY", KEY)
        yield srv


def test_the_setting_is_validated_and_shown(ip, magics):
    table = repr(ip.run_line_magic("llama_config", ""))
    assert re.search(r"rate_limit\s+300\s+default", table)
    for bad, words in (("-1", "from 0 to 60000"), ("fast", "not a number"), ("99999999", "from 0 to 60000")):
        result, cap = run(ip, f"%llama_config rate_limit={bad}")
        assert not result.success and words in cap.stderr and "\n" not in cap.stderr.strip()
    assert magics.rate_limit == 300  # nothing applied
    run(ip, "%llama_config rate_limit=600")
    assert re.search(r"rate_limit\s+600\s+session", repr(ip.run_line_magic("llama_config", "")))


@pytest.mark.slow
@pytest.mark.parametrize("limit", [600, 0], ids=["rate_limit=600", "no client-side cap"])
def test_a_batch_against_a_per_second_window_loses_no_item(ip, window, limit):
    items = [f"row {i:03d}" for i in range(40)]
    ip.user_ns["rows"] = items
    run(ip, f"%llama_config rate_limit={limit}")
    started = time.monotonic()
    result, cap = run(ip, "%%llama --over rows -j 16 -o out\n{item}")
    wall = time.monotonic() - started
    out = ip.user_ns["out"]
    assert result.success, cap.stderr
    assert out.errors == {} and out.texts == [f"Answer to: {item}" for item in items]
    assert sorted(window.prompts(200)) == items  # each item answered once
    totals = cap.outputs[-1].data["text/plain"].rsplit("\n-- ", 1)[1]
    if window.refused:
        assert f"{window.refused} refused for the rate limit and sent again" in totals
        assert "waiting" in cap.stdout and "rate limited" in cap.stdout  # the progress line said why it waited
    print(
        f"\n{len(items)} items at -j 16, rate_limit={limit}, 10/s window: {window.requests} requests, "
        f"{window.refused} refused ({window.refused / window.requests:.0%}), {wall:.1f} s wall "
        f"(ideal {len(items) / 10:.1f} s)"
    )


def test_with_no_cap_a_refusal_halves_the_concurrency_and_the_bar_says_why_it_waits(ip, window):
    ip.user_ns["rows"] = [f"row {i}" for i in range(30)]
    run(ip, "%llama_config rate_limit=0")
    result, cap = run(ip, "%%llama --over rows -j 16 -o out\n{item}")
    out = ip.user_ns["out"]
    assert result.success and out.errors == {}
    assert window.refused >= 6 and out.refusals == window.refused  # the first burst of 16 met a window of 10
    # while the batch waits out Retry-After, the bar shows the halved concurrency and the wait
    assert re.search(r"concurrency [1-8]/16 · waiting \d\.\d s: rate limited", cap.stdout), cap.stdout[-300:]


def test_rate_limit_waits_do_not_use_up_max_retries_in_a_batch(ip, scripted):
    refused = fail(429, 3040, "Capacity temporarily exceeded", headers={"Retry-After": "0"})
    scripted.script(refused, refused, refused, ok("At last"), fail(500, None, "Internal"))
    ip.user_ns["xs"] = ["one", "two"]
    run(ip, "%llama_config max_retries=0 rate_limit=0")
    result, cap = run(ip, "%%llama --over xs -j 1 -o out\nAbout {item}")
    out = ip.user_ns["out"]
    assert len(scripted.requests) == 5  # three refusals waited out, then the answer; the 500 not retried
    assert out.texts[0] == "At last" and "retried 3 times after a rate limit" in out[0].footer()
    assert "HTTP 500" in out.errors[1]  # max_retries=0 still bounds every other transient fault
    assert result.success, cap.stderr


def test_every_worker_waits_out_retry_after(ip, scripted):
    # The request in flight beside the refused one is answered a little later, so its worker moves
    # on only after the refusal has reached the client (a loaded machine could reorder them).
    in_flight = ok("a0")
    in_flight.delay = 0.5
    scripted.script(
        fail(429, 3040, "slow down", headers={"Retry-After": "1"}), in_flight, *[ok(f"a{i}") for i in range(1, 6)]
    )
    ip.user_ns["xs"] = [f"x{i}" for i in range(6)]
    run(ip, "%llama_config rate_limit=0")
    result, _ = run(ip, "%%llama --over xs -j 2 -q -o out\nAbout {item}")
    assert result.success and ip.user_ns["out"].errors == {}
    refused, _in_flight_then, *later = scripted.requests
    assert len(later) == 5  # the refused one again, and the four not yet started
    assert all(seen.time - refused.time >= 1.0 for seen in later)  # none started before the wait was over


@pytest.mark.parametrize("code", [3036, 4006])
def test_a_used_up_quota_still_stops_the_batch_at_once(ip, scripted, code):
    scripted.script(fail(429, code, "Daily quota used", headers={"Retry-After": "1"}))
    ip.user_ns["xs"] = list(range(5))
    result, cap = run(ip, "%%llama --over xs -j 1 -o out\nNumber {item}")
    assert len(scripted.requests) == 1 and not result.success
    line = str(result.error_in_exec)
    assert "quota" in line and "stopped after 1 of 5" in line


def test_a_wait_longer_than_a_minute_stops_the_batch(ip, scripted):
    scripted.script(fail(429, 3040, "Try tomorrow", headers={"Retry-After": "600"}))
    ip.user_ns["xs"] = list(range(4))
    result, _ = run(ip, "%%llama --over xs -j 1 -o out\nNumber {item}")
    assert len(scripted.requests) == 1 and not result.success
    line = str(result.error_in_exec)
    assert "asks to wait 600 s" in line and "stopped after 1 of 4" in line and "reused from the log" in line


def test_a_batch_gives_up_once_nothing_was_answered_for_the_patience(ip, scripted, monkeypatch):
    monkeypatch.setattr(rate_limit, "PATIENCE", 0.6)  # the bound is 5 minutes; the test cannot wait that long
    scripted.script(*[fail(429, 3040, "busy", headers={"Retry-After": "0.2"})] * 20)
    ip.user_ns["xs"] = list(range(3))
    run(ip, "%llama_config rate_limit=0")
    result, _ = run(ip, "%%llama --over xs -j 1 -o out\nNumber {item}")
    assert not result.success and len(scripted.requests) >= 2  # waited, then gave up
    assert {seen.json["data"]["messages"][-1]["content"] for seen in scripted.requests} == {"Number 0"}
    line = str(result.error_in_exec)
    assert "kept refusing requests for its rate limit" in line and "stopped after 1 of 3" in line


def test_cache_hits_take_no_token(ip, magics, online):
    run(ip, "%llama_config cache=on")
    run(ip, "%%llama\nSame question")
    limiter = magics.llama_session.rate_limiter
    before = limiter.starts
    for _ in range(5):
        result, cap = run(ip, "%%llama\nSame question")
        assert result.success and "cached" in everything_shown(cap)
    assert limiter.starts == before and online.count == 1


def test_starts_come_in_bursts_never_more_than_rate_limit_over_60_in_a_second():
    """INTERFACE section 5: a burst up to rate_limit/60 starts at once (no even spacing any more),
    and never more than that start in any one-second window, however many threads ask."""
    limiter = rate_limit.RateLimiter()
    starts, lock = [], threading.Lock()

    def worker():
        for _ in range(5):
            began = limiter.clock()
            waited = limiter.acquire(1200)  # 20 a second
            with lock:
                starts.append(began + waited)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    assert len(starts) == 30 and limiter.starts == 30
    assert starts[19] - starts[0] < 0.5  # the first 20 went together, without waiting for each other
    assert all(later - first >= 1.0 for first, later in zip(starts, starts[20:], strict=False))  # <= 20 a second


def test_raising_the_rate_limit_takes_effect_for_the_next_request():
    """A user who set rate_limit=1 and then raises it must not wait out the old minute."""
    limiter = rate_limit.RateLimiter()
    limiter.acquire(1)  # the next start may come 63 s later under this limit...
    done = threading.Event()
    threading.Thread(target=lambda: (limiter.acquire(600), done.set()), daemon=True).start()
    assert done.wait(10), "the next request waited for the old limit's spacing"  # ...but 600/min allows 0.1 s


def test_a_single_cell_takes_its_turn_too(ip, scripted):
    scripted.script(ok("first"), ok("second"))
    run(ip, "%llama_config rate_limit=30")  # one request every two seconds
    for i in range(2):
        result, _ = run(ip, f"%%llama\nQuestion {i}")
        assert result.success
    first, second = scripted.requests
    assert second.time - first.time >= 2.0


def test_a_server_answer_without_retry_after_backs_off(ip, scripted):
    scripted.script(Answer(429, {"success": False, "errors": [{"message": "slow"}]}), ok("fine"))
    ip.user_ns["xs"] = ["x"]
    run(ip, "%llama_config rate_limit=0")
    result, _ = run(ip, "%%llama --over xs -q -o out\nAbout {item}")
    first, second = scripted.requests
    assert result.success and second.time - first.time >= 0.3  # 0.5 s, less at most a quarter of jitter


def test_a_burst_up_to_the_window_starts_at_once_and_the_next_waits_for_the_window():
    limiter = rate_limit.RateLimiter()
    first = limiter.clock()
    waits = [limiter.acquire(300) for _ in range(5)]  # 300/min: 5 in any second
    assert max(waits) < 0.2  # the burst went at once
    limiter.acquire(300)
    assert limiter.clock() - first >= 1.0  # the sixth waited for the window to move on
    assert rate_limit.window(300) == (5, pytest.approx(1.05)) and rate_limit.window(30)[0] == 1


def test_turns_are_first_come_first_served():
    limiter = rate_limit.RateLimiter()
    limiter.hold(0.5)  # everyone queues until the hold is over
    starts, threads = {}, []

    def ask(i):
        began = limiter.clock()
        starts[i] = began + limiter.acquire(600)  # when its turn came (taken under the limiter's lock)

    for i in range(3):
        threads.append(threading.Thread(target=ask, args=(i,)))
        threads[-1].start()
        while len(limiter._queue) < i + 1:  # each asks after the one before it is in the queue
            time.sleep(0.001)
    for thread in threads:
        thread.join()
    assert sorted(starts, key=starts.get) == [0, 1, 2]


def test_a_refusal_holds_every_request_of_the_session():
    limiter = rate_limit.RateLimiter()
    began = limiter.clock()
    limiter.hold(0.4)
    started = []  # when each request was let go, from the hold: a thread may itself start late on a busy machine
    threads = [threading.Thread(target=lambda: (limiter.acquire(0), started.append(limiter.clock()))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(started) == 3 and all(at - began >= 0.35 for at in started) and limiter.clock() - began >= 0.4
    assert limiter.refusals == 1


def test_the_offline_endpoint_is_not_paced_by_the_client(ip):
    """rate_limit=6 allows one start every 10.5 s: paced, three items would take over 20 s."""
    ip.user_ns["xs"] = ["a", "b", "c"]
    run(ip, "%llama_config --offline")
    run(ip, "%llama_config rate_limit=6")
    started = time.monotonic()
    result, cap = run(ip, "%%llama --over xs -j 3 -q -o out\nAbout {item}")
    assert result.success, cap.stderr
    assert ip.user_ns["out"].errors == {} and time.monotonic() - started < 10
