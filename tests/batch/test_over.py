"""%%llama --over VAR: one request per item over real HTTP to the offline endpoint on loopback."""

from __future__ import annotations

import collections
import re
import signal
import threading
import time

import pandas as pd
import pytest
from support.shell import KEY, everything_shown, run

from dataoorts_magic.batch.result import BatchResult
from dataoorts_magic.display.response import LlamaResponse
from dataoorts_magic.offline.server import OfflineServer


@pytest.fixture
def endpoint(monkeypatch):
    """Start an offline endpoint with the given faults and point the client at it."""
    servers = []

    def start(**faults):
        srv = OfflineServer(api_key=KEY, **faults).start()
        servers.append(srv)
        monkeypatch.setenv("DATAOORTS_API_URL", srv.url)
        monkeypatch.setenv("DATAOORTS_API_KEY", KEY)
        return srv

    yield start
    for srv in servers:
        srv.stop()


def prompts(server) -> list[str]:
    return [r["body"]["data"]["messages"][-1]["content"] for r in server.requests]


def asked(text: str) -> str:
    """The prompt the offline endpoint echoes at the end of its answer."""
    return text.rsplit("**You asked:** ", 1)[1].strip()


def until(condition, limit=10.0):
    """Wait for a condition on a server counter (bounded, so a bug fails instead of hanging)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.002)


def join_workers():
    """Let abandoned requests finish, so they cannot touch the next test's log or spending."""
    for thread in threading.enumerate():
        if thread.name.startswith("dataoorts_"):
            thread.join(10)


def test_every_item_is_sent_once_and_answers_keep_input_order(ip, endpoint):
    # the first requests to arrive are the slowest, so answers come back out of order
    srv = endpoint(script=[{"latency": 0.3 - 0.05 * i} for i in range(6)])
    words = [f"word{i:02d}" for i in range(12)]
    ip.user_ns["words"] = words
    result, cap = run(ip, "%%llama --over words -j 4 -o out\nDefine {item} briefly.")
    assert result.success, cap.stdout + cap.stderr
    assert sorted(prompts(srv)) == sorted(f"Define {w} briefly." for w in words)
    assert collections.Counter(prompts(srv)).most_common(1)[0][1] == 1
    out = ip.user_ns["out"]
    assert isinstance(out, BatchResult) and len(out) == 12 and out.errors == {}
    assert all(isinstance(r, LlamaResponse) for r in out)
    for word, text in zip(words, out.texts, strict=True):
        assert asked(text) == f"Define {word} briefly."
    assert out.labels == list(range(12))
    assert out.usage.completion_tokens == sum(r.usage.completion_tokens for r in out)
    assert out.cost == pytest.approx(sum(r.cost for r in out))


def test_requests_run_concurrently_up_to_j(ip, endpoint):
    srv = endpoint(latency=0.3)
    run(ip, "%llama_config rate_limit=0")  # -j alone, with no client-side rate limit (tests/batch/test_rate_limit.py)
    ip.user_ns["xs"] = list(range(8))
    started = time.monotonic()
    result, cap = run(ip, "%%llama --over xs -j 8 -q -o out\nNumber {item}")
    wall = time.monotonic() - started
    assert result.success, cap.stderr
    assert srv.count == 8 and srv.max_in_flight == 8
    assert wall < 8 * 0.3 / 2  # generous: one at a time would take 2.4 s
    assert len(ip.user_ns["out"].texts) == 8


def test_j_caps_the_requests_in_flight_and_the_setting_is_the_default(ip, endpoint):
    srv = endpoint(latency=0.05)
    run(ip, "%llama_config rate_limit=0")  # -j alone, with no client-side rate limit
    ip.user_ns["xs"] = list(range(6))
    result, _ = run(ip, "%%llama --over xs -j 2 -q -o out\nNumber {item}")
    assert result.success and srv.count == 6 and srv.max_in_flight == 2
    srv = endpoint(latency=0.05)
    run(ip, "%llama_config concurrency=3")
    result, _ = run(ip, "%%llama --over xs -q -o out\nNumber {item}")
    assert result.success and srv.count == 6 and srv.max_in_flight == 3


def test_a_failed_item_keeps_its_error_and_the_rest_go_on(ip, endpoint):
    srv = endpoint(script=[{}, {"status": 400, "code": 5006, "message": "Bad input: tokens"}])
    ip.user_ns["xs"] = ["one", "two", "<b>three</b>", "four"]
    result, cap = run(ip, "%%llama --over xs -j 1 -o out\nAbout {item}")
    assert result.success, cap.stderr  # some answers came back: the cell does not fail
    out = ip.user_ns["out"]
    assert srv.count == 4
    assert list(out.errors) == [1] and "Bad input: tokens" in out.errors[1] and "HTTP 400" in out.errors[1]
    assert out.texts[1] is None and isinstance(out[1], Exception)
    assert [t is not None for t in out.texts] == [True, False, True, True]
    plain, html = cap.outputs[-1].data["text/plain"], cap.outputs[-1].data["text/html"]
    assert "4 requests · 1 failed" in plain and "Bad input: tokens" in plain
    assert "&lt;b&gt;three&lt;/b&gt;" in html and "<b>three" not in html


def test_a_transient_failure_is_retried_as_for_single_calls(ip, endpoint):
    srv = endpoint(script=[{"status": 503, "code": 3040}])
    ip.user_ns["xs"] = ["only"]
    result, cap = run(ip, "%%llama --over xs -o out\nAbout {item}")
    assert result.success, cap.stderr
    assert srv.count == 2 and ip.user_ns["out"].errors == {}
    assert "retried" in ip.user_ns["out"][0].footer()


def test_an_authentication_failure_stops_the_batch(ip, endpoint, monkeypatch):
    srv = endpoint()
    monkeypatch.setenv("DATAOORTS_API_KEY", "sk-wrong")
    ip.user_ns["xs"] = list(range(20))
    result, cap = run(ip, "%%llama --over xs -j 2 -o out\nNumber {item}")
    assert not result.success
    assert srv.count <= 2  # never hammer the provider with bad keys
    line = str(result.error_in_exec)
    assert "Authentication failed" in line and f"stopped after {srv.count} of 20" in line and "\n" not in line
    out = ip.user_ns["out"]
    assert len(out.errors) == 20 and "Not sent" in out.errors[19]
    assert "sk-wrong" not in everything_shown(cap)


@pytest.mark.usefixtures("default_sigint")  # it interrupts itself
def test_a_kernel_interrupt_keeps_the_finished_items(ip, endpoint):
    srv = endpoint(latency=1.5, script=[{"latency": 0}, {"latency": 0}])
    ip.user_ns["xs"] = [f"item{i}" for i in range(10)]

    def interrupt_when_two_are_done():
        until(lambda: srv.count >= 4)  # with -j 2, the 3rd and 4th are sent once the first two answered
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    watcher = threading.Thread(target=interrupt_when_two_are_done)
    watcher.start()
    try:
        result, cap = run(ip, "%%llama --over xs -j 2 -o out\nAbout {item}")
    finally:
        watcher.join()
    in_flight_when_back = srv.in_flight
    try:
        assert not result.success
        assert str(result.error_in_exec) == (
            "Interrupted: the batch stopped after 2 of 10 requests. The finished ones are in out."
        )
        assert in_flight_when_back == 2  # the cell did not wait for the requests in flight
        out = ip.user_ns["out"]
        assert [t is not None for t in out.texts] == [True, True] + [False] * 8
        assert [asked(t) for t in out.texts[:2]] == ["About item0", "About item1"]
        assert "in flight" in out.errors[2] and "Not sent" in out.errors[9]
        shown = everything_shown(cap)
        assert "interrupted after 2 of 10" in shown
        # 2 answered, 2 in flight (sent, no answer), 6 never sent: "not sent", and none "failed" (INTERFACE 5)
        assert "interrupted after 2 of 10: 4 of 10 sent, 6 not sent" in out.totals()
        assert "failed" not in out.totals()
        # the progress line's end: 2 done, no ETA for a stopped run, how many were sent
        assert re.search(r"llama \[#+\.+\] 2/10 · \d+\.\d s · interrupted · 4 of 10 sent, 6 not sent", shown), shown
    finally:
        join_workers()
    assert srv.count == 4  # nothing was sent after the interrupt


def test_series_round_trip_keeps_the_index(ip, endpoint):
    srv = endpoint()
    s = pd.Series(["red", "green", "blue"], index=pd.Index(["r", "g", "b"], name="key"))
    ip.user_ns["colours"] = s
    result, cap = run(ip, "%%llama --over colours -o out\nA poem about {item}")
    assert result.success, cap.stderr
    assert sorted(prompts(srv)) == sorted(f"A poem about {c}" for c in s)
    out = ip.user_ns["out"]
    assert out.labels == ["r", "g", "b"]
    series = out.to_series()
    assert series.index.equals(s.index) and series.name == "answer"
    assert asked(series["g"]) == "A poem about green"
    frame = out.to_frame()
    assert list(frame.columns[:3]) == ["item", "answer", "error"] and list(frame["item"]) == list(s)
    assert frame["completion_tokens"].notna().all()


def test_dataframe_rows_give_column_fields_and_the_row_as_item(ip, endpoint):
    srv = endpoint()
    df = pd.DataFrame({"title": ["Dune", "Emma"], "year": [1965, 1815]}, index=[10, 20])
    ip.user_ns["books"] = df
    ip.user_ns["title"] = "shadowed by the row's column"
    result, cap = run(ip, "%%llama --over books -o out -s 'Books from {year}.'\nReview {title}.")
    assert result.success, cap.stderr
    bodies = sorted((m[0]["content"], m[1]["content"]) for m in (r["body"]["data"]["messages"] for r in srv.requests))
    assert bodies == [("Books from 1815.", "Review Emma."), ("Books from 1965.", "Review Dune.")]
    out = ip.user_ns["out"]
    frame = out.to_frame()
    assert frame.index.tolist() == [10, 20] and list(frame.columns[:3]) == ["title", "year", "answer"]
    assert asked(frame.loc[20, "answer"]) == "Review Emma."
    assert out.to_series().index.tolist() == [10, 20]
    # {item} is the whole row, shown as a compact table
    run(ip, "%%llama --over books -q -o out2\nSummarize: {item}")
    row_prompt = prompts(srv)[-1]
    assert "Dune" in row_prompt or "Emma" in row_prompt
    assert "title" in row_prompt and "year" in row_prompt


def test_a_generator_and_an_empty_list(ip, endpoint):
    srv = endpoint()
    ip.user_ns["gen"] = (f"g{i}" for i in range(3))
    result, _ = run(ip, "%%llama --over gen -q -o out\nSay {item}")
    assert result.success and srv.count == 3 and len(ip.user_ns["out"]) == 3
    ip.user_ns["nothing"] = []
    result, cap = run(ip, "%%llama --over nothing -o out\nSay {item}")
    assert result.success and srv.count == 3 and len(ip.user_ns["out"]) == 0
    assert "0 requests" in everything_shown(cap)


def test_display_is_a_truncated_sanitized_table_with_totals(ip, endpoint):
    endpoint()
    ip.user_ns["xs"] = ["<script>alert(1)</script>", "x" * 500]
    result, cap = run(ip, "%%llama --over xs -o out\nEcho {item}")
    assert result.success
    bundle = cap.outputs[-1].data
    html, plain = bundle["text/html"], bundle["text/plain"]
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "x" * 200 not in html and "x" * 200 not in plain and "…" in plain
    for text in (html, plain):
        assert "2 requests" in text and "tokens" in text and "$" in text and "wall" in text
    assert "2/2" in cap.stdout  # the text progress bar (no kernel here) ended at done/total
    assert "x" * 500 in ip.user_ns["out"].texts[1]  # the result keeps everything


def test_quiet_shows_nothing(ip, endpoint):
    endpoint()
    ip.user_ns["xs"] = ["a", "b"]
    result, cap = run(ip, "%%llama --over xs -q -o out\nSay {item}")
    assert result.success and cap.outputs == [] and cap.stdout == ""
    assert len(ip.user_ns["out"].texts) == 2


@pytest.mark.parametrize(
    "setup, cell, words",
    [
        ({}, "%%llama --over missing\nSay {item}", "no variable missing"),
        ({"s": "abc"}, "%%llama --over s\nSay {item}", "str, not a batch"),
        ({"n": 5}, "%%llama --over n\nSay {item}", "cannot be iterated"),
        ({"xs": [1, 2]}, "%%llama --over xs\nSay hello", "does not use {item}"),
        ({"df": pd.DataFrame({"title": ["a"]})}, "%%llama --over df\nSay hello", "or a column such as {title}"),
        ({"xs": [1, 2]}, "%%llama --over xs --raw\nSay {item}", "--raw turns off {item}"),
        ({"xs": [1, 2]}, "%%llama --over xs -j 0\nSay {item}", "-j 0 is out of range: use 1 to 64"),
        ({"xs": [1, 2]}, "%%llama --over xs -j 65\nSay {item}", "-j 65 is out of range"),
        ({"xs": [1, 2]}, "%%llama --over xs --compare seed=1,2\nSay {item}", "cannot be combined"),
        ({"xs": [1, 2]}, "%%llama --over xs --stream\nSay {item}", "--stream applies to a single request"),
        ({"xs": [1, 2]}, "%%llama --over xs -c\nSay {item}", "--chat applies to a single request"),
        ({"xs": [1, 2]}, "%%llama --over xs -t 9\nSay {item}", "temperature=9 is out of range"),
        ({}, "%%llama -j 4\nHello", "-j sets the requests in flight for --over and --compare"),
    ],
)
def test_refused_before_anything_is_sent(ip, online, setup, cell, words):
    ip.user_ns.pop("missing", None)
    ip.user_ns.update(setup)
    result, _ = run(ip, cell)
    assert not result.success
    line = str(result.error_in_exec)
    assert words in line and "\n" not in line
    assert online.count == 0


def test_system_prompt_alone_may_carry_the_item(ip, endpoint):
    srv = endpoint()
    ip.user_ns["langs"] = ["French", "German"]
    result, _ = run(ip, "%%llama --over langs -q -o out -s 'Answer in {item}.'\nSay hello.")
    assert result.success
    systems = sorted(r["body"]["data"]["messages"][0]["content"] for r in srv.requests)
    assert systems == ["Answer in French.", "Answer in German."]


def test_budget_applies_per_item_even_in_flight(ip, magics, endpoint):
    srv = endpoint(latency=0.3)
    ip.user_ns["xs"] = ["a", "b", "c"]
    # room for one worst case (prompt estimate + 512 max_tokens at $0.08/M is about $0.00004), not for two
    run(ip, f"%llama_config budget={magics.llama_session.spent + 0.00006!r}")
    result, cap = run(ip, "%%llama --over xs -j 3 -o out\nSay {item}")
    out = ip.user_ns["out"]
    assert srv.count == 1 and len(out.responses) == 1
    assert len(out.errors) == 2 and all("Budget" in e for e in out.errors.values())
    assert result.success, cap.stderr  # one answer came back; the refusals are listed, not fatal


def test_notebook_progress_shows_done_failures_elapsed_and_eta_as_a_static_line():
    from types import SimpleNamespace

    from dataoorts_magic.display.progress import LineProgress, Progress, TextProgress, for_shell

    class Handle:  # what IPython's display(..., display_id=True) returns: the display, redrawn by its id
        def __init__(self, shown):
            self.shown = [shown]

        def update(self, obj):
            self.shown.append(obj)

    handles, now = [], [0.0]

    def display(obj, display_id):
        assert display_id is True
        handles.append(Handle(obj))
        return handles[-1]

    bar = LineProgress(display=display, clock=lambda: now[0])
    bar.start(10)
    assert len(handles) == 1 and handles[0].shown[0].line == "0/10 · 0.0 s"
    now[0] = 2.0
    bar.update(4, 1)
    assert bar.line == "4/10 · 1 failed · 2.0 s · ETA 3.0 s"
    html = handles[0].shown[-1]._repr_html_()
    assert "<progress value='4' max='10' aria-label='llama: 4 of 10 done'" in html and "1 failed" in html
    now[0] = 5.0
    bar.finish(10, 1)
    assert bar.line == "10/10 · 1 failed · 5.0 s"
    final = handles[0].shown[-1]
    assert repr(final) == "llama [########################] 10/10 · 1 failed · 5.0 s"
    assert "jupyter-widgets" not in final._repr_html_() and "<script" not in final._repr_html_()  # plain HTML
    assert type(for_shell(SimpleNamespace(kernel=object()))) is LineProgress  # a notebook kernel
    assert type(for_shell(SimpleNamespace())) is TextProgress  # a terminal
    assert type(for_shell(SimpleNamespace(kernel=object()), quiet=True)) is Progress  # -q: nothing


def test_the_line_magic_takes_over_too(ip, online):
    ip.user_ns["item"] = "a variable that {item} must not pick up"
    ip.user_ns["xs"] = ["alpha", "beta"]
    result, _ = run(ip, "%llama --over xs -q -o out Spell {item} backwards")
    assert result.success
    assert sorted(prompts(online)) == ["Spell alpha backwards", "Spell beta backwards"]


def totals_line(text: str) -> str:
    return text.rstrip().rsplit("\n", 1)[-1]


def test_the_display_records_each_answers_provenance_and_says_offline(ip, monkeypatch):
    monkeypatch.setenv("DATAOORTS_OFFLINE", "1")
    ip.user_ns["xs"] = ["one", "two", "three"]
    result, cap = run(ip, "%%llama --over xs -t 0.3 -o out\nAbout {item}")
    assert result.success, cap.stderr
    out, shown = ip.user_ns["out"], cap.outputs[-1]
    assert totals_line(shown.data["text/plain"]).endswith(" wall · offline")
    assert " wall · offline</div>" in shown.data["text/html"]
    made = shown.metadata["dataoorts_magic"]["batch"]
    # what every answer shares, once; then one entry per row, in input order
    assert (made["model"], made["params"], made["offline"]) == (out[0].model, out[0].params, True)
    assert made["params"]["temperature"] == 0.3
    assert [m["prompt_sha256"] for m in made["items"]] == [r.prompt_sha256 for r in out]
    assert [m["usage"]["completion_tokens"] for m in made["items"]] == [r.usage.completion_tokens for r in out]
    assert [(m["cost"], m["cached"]) for m in made["items"]] == [(r.cost, r.cached) for r in out]
    assert all("params" not in m and "model" not in m for m in made["items"])  # compact: no repeats
    assert made["totals"]["requests"] == 3 and made["totals"]["failed"] == 0
    assert made["totals"]["usage"]["total_tokens"] == out.usage.total_tokens
    assert made["totals"]["cost"] == pytest.approx(out.cost)


def test_a_failed_item_is_recorded_with_its_error_and_only_shown_rows_are_listed(ip, endpoint, monkeypatch):
    import dataoorts_magic.batch.result_display as result_module

    monkeypatch.setattr(result_module, "SHOWN_ROWS", 3)
    endpoint(script=[{}, {"status": 400, "code": 5006, "message": "Bad input: tokens"}])
    ip.user_ns["xs"] = ["one", "two", "three", "four"]
    result, cap = run(ip, "%%llama --over xs -j 1 -o out\nAbout {item}")
    assert result.success, cap.stderr
    out, shown = ip.user_ns["out"], cap.outputs[-1]
    assert "offline" not in totals_line(shown.data["text/plain"])  # a real endpoint answered
    made = shown.metadata["dataoorts_magic"]["batch"]
    assert made["offline"] is False and made["totals"]["requests"] == 4 and made["totals"]["failed"] == 1
    assert len(made["items"]) == 3  # the rows the display shows; the totals count them all
    assert made["items"][1] == {"error": out.errors[1]} and "Bad input: tokens" in made["items"][1]["error"]
    assert made["items"][2]["prompt_sha256"] == out[2].prompt_sha256


def test_repeated_series_labels_keep_every_failed_item(ip, endpoint):
    bad = {"status": 400, "code": 5006, "message": "Bad input: tokens"}
    endpoint(script=[bad, bad])
    s = pd.Series(["red", "green", "blue"], index=pd.Index(["x", "x", "y"], name="key"))
    ip.user_ns["colours"] = s
    result, cap = run(ip, "%%llama --over colours -j 1 -o out\nA poem about {item}")
    assert result.success, cap.stderr
    out = ip.user_ns["out"]
    # the two failures share the label "x": keyed by position, neither is lost
    assert sorted(out.errors) == [0, 1] and all("Bad input: tokens" in e for e in out.errors.values())
    assert [(i, label) for i, label, _ in out.failures] == [(0, "x"), (1, "x")]
    assert "3 requests · 2 failed" in totals_line(cap.outputs[-1].data["text/plain"])
    series, frame = out.to_series(), out.to_frame()
    assert series.index.equals(s.index) and list(series.isna()) == [True, True, False]
    assert frame.index.equals(s.index) and frame["error"].notna().tolist() == [True, True, False]
    assert asked(frame["answer"].iloc[2]) == "A poem about blue"


def test_unique_series_labels_key_the_errors(ip, endpoint):
    endpoint(script=[{}, {"status": 400, "code": 5006, "message": "Bad input: tokens"}])
    ip.user_ns["colours"] = pd.Series(["red", "green"], index=["r", "g"])
    result, _ = run(ip, "%%llama --over colours -j 1 -q -o out\nA poem about {item}")
    out = ip.user_ns["out"]
    assert result.success and list(out.errors) == ["g"] and out.failures == [(1, "g", out.errors["g"])]
