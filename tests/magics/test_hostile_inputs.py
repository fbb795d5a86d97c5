"""What a careless user (or a hostile server's headers) can give the extension: refused in one line, nothing sent.

Issue 12's failures 4, 5, 7, 9 and 12: interrupts, non-finite numbers and broken URLs, a budget
that must hold under concurrency, big or broken ``--over`` inputs, and ``-o`` names that would
break the shell, each through a real cell, under ``%xmode Verbose`` with ``%tb`` after.
"""

from __future__ import annotations

import math
import signal
import threading
import time

import pytest
from support.scripted_server import Answer, fail, ok
from support.shell import KEY, everything_shown, fails_in_one_line, frames_holding, run

from dataoorts_magic.params import cost
from dataoorts_magic.pipeline.budget import Spending, worst_prompt_tokens

MODEL = "meta/llama-3.1-8b-instruct"


def interrupt_when(condition, limit: float = 20.0) -> threading.Thread:
    """SIGINT the main thread (what the kernel's stop button sends) once ``condition()`` holds."""

    def watch():
        deadline = time.monotonic() + limit
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.01)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture(autouse=True)
def fresh_spending(magics):
    magics.llama_session.spending = Spending()


@pytest.fixture
def shell_config(ip):
    """%config keeps even a refused value in the shell's own config: take it out after the test,
    or the next LlamaMagics built from that config (%reload_ext) would refuse it again."""
    import copy

    saved = copy.deepcopy(ip.config)
    yield
    ip.config = saved


# --- 4: interrupts -------------------------------------------------------------------------------

INTERRUPTS = [
    ("during the request", [Answer(200, ok().body, delay=30)], lambda s: len(s.requests) == 1),
    pytest.param(  # slow: the next cell waits out the server's Retry-After (the session holds for it)
        "during a retry wait",
        [fail(503, 3040, "busy", headers={"Retry-After": "30"})],
        lambda s: s.answered == 1,
        marks=pytest.mark.slow,
    ),
]


@pytest.mark.parametrize("name, answers, when", INTERRUPTS, ids=["during the request", "during a retry wait"])
@pytest.mark.usefixtures("default_sigint")  # it interrupts itself
def test_failure_4_an_interrupt_is_one_line_frees_the_budget_and_the_next_cell_works(
    ip, scripted, magics, name, answers, when
):
    worst = cost(MODEL, worst_prompt_tokens([{"role": "user", "content": "Hello"}]), 512)
    ip.run_line_magic("llama_config", f"budget={worst * 1.5!r}")  # one request's worst case fits, not two
    scripted.script(*answers)
    interrupt_when(lambda: when(scripted))
    started = time.monotonic()
    line = fails_in_one_line(ip, "%%llama\nHello")
    assert time.monotonic() - started < 20  # not the 30 s the server holds or asks to wait
    assert line.startswith("UsageError: interrupted: ")
    scripted.script(ok("Next one"))
    result, cap = run(ip, "%%llama\nHello")  # refused for money "in flight" if the reservation leaked
    assert result.success, cap.stderr


@pytest.mark.usefixtures("default_sigint")  # it interrupts itself
def test_failure_4_an_interrupted_python_call_has_no_key_in_any_frame(ip, scripted, magics):
    scripted.script(Answer(200, ok().body, delay=30))
    interrupt_when(lambda: len(scripted.requests) == 1)
    with pytest.raises(KeyboardInterrupt) as info:
        magics.llama_session.send(magics.llama_session.request("Hello"))
    assert frames_holding(info.value, KEY) == []  # the original ran through urllib3's frames, headers and all


def test_the_key_is_a_secret_that_never_shows_itself(magics, monkeypatch):
    import pickle

    from dataoorts_magic.pipeline.settings import read_key

    monkeypatch.setenv("DATAOORTS_API_KEY", KEY)
    key = read_key(None)
    assert key.reveal() == KEY
    assert KEY not in repr(key) + str(key) + f"{key}" + repr([key]) + repr(vars(type(key)))
    with pytest.raises(TypeError):
        pickle.dumps(key)
    magics.llama_session.set_key(KEY)
    assert KEY not in repr(vars(magics.llama_session))


# --- 5: numbers that are not numbers, URLs that are not URLs -------------------------------------

FLOAT_SETTINGS = ["timeout", "connect_timeout", "budget", "temperature", "top_p", "repetition_penalty"]
NOT_FINITE = ["nan", "inf", "-inf", "1e309"]


@pytest.mark.parametrize("value", NOT_FINITE)
@pytest.mark.parametrize("name", FLOAT_SETTINGS)
def test_failure_5_llama_config_refuses_non_finite_floats(ip, scripted, magics, name, value):
    before = getattr(magics, name)
    line = fails_in_one_line(ip, f"%llama_config {name}={value}")
    assert name in line and ("finite" in line or "not a number" in line)
    assert getattr(magics, name) == before or (before is None and getattr(magics, name) is None)


@pytest.mark.parametrize("value", ["float('nan')", "float('inf')", "1e309"])
@pytest.mark.parametrize("name", FLOAT_SETTINGS)
def test_failure_5_config_refuses_non_finite_floats(ip, magics, caplog, shell_config, name, value):
    before = getattr(magics, name)
    result, cap = run(ip, f"%config LlamaMagics.{name} = {value}")
    # %config reports a refused value as one logged error line (IPython's own way)
    assert [r.getMessage() for r in caplog.records] == [
        f"{name}={eval(value)!r} is not a finite number: give a number such as 1.5."
    ]
    assert "Traceback (most recent call last)" not in everything_shown(cap)
    after = getattr(magics, name)
    assert after == before or (before is None and after is None)


@pytest.mark.parametrize(
    "cell",
    [
        "%%llama -t nan\nHello",
        "%%llama -t inf\nHello",
        "%%llama --top-p 1e309\nHello",
        "%%llama --seed 1e309\nHello",
        "%%llama --compare temperature=0.5,nan\nHello",
    ],
)
def test_failure_5_cell_flags_refuse_non_finite_numbers_and_send_nothing(ip, scripted, cell):
    line = fails_in_one_line(ip, cell)
    assert "number" in line and not scripted.requests


@pytest.mark.parametrize("url", ["http://[::1", "ftp://example.com/api", "http://", "https://host:99999/api", "x y"])
def test_failure_5_a_malformed_api_url_is_refused_when_set(ip, scripted, magics, caplog, shell_config, url):
    line = fails_in_one_line(ip, f"%llama_config api_url='{url}'")
    assert "api_url" in line and "not a usable endpoint" in line
    run(ip, f"%config LlamaMagics.api_url = {url!r}")
    assert "not a usable endpoint" in caplog.text and magics.api_url is None
    scripted.script(ok())
    result, cap = run(ip, "%%llama\nHello")  # the environment's endpoint still applies
    assert result.success, cap.stderr


def test_failure_5_a_malformed_url_in_the_environment_is_one_line_and_nothing_is_sent(ip, scripted, monkeypatch):
    monkeypatch.setenv("DATAOORTS_API_URL", "http://[::1")
    line = fails_in_one_line(ip, "%%llama\nHello")
    assert "DATAOORTS_API_URL" in line and not scripted.requests


@pytest.mark.parametrize(
    "header", [{"retry-after-ms": "nan"}, {"retry-after-ms": "inf"}, {"retry-after-ms": "-5"}, {"Retry-After": "1e400"}]
)
def test_failure_5_a_retry_after_that_is_not_a_finite_wait_is_ignored_and_the_backoff_applies(ip, scripted, header):
    scripted.script(fail(429, 3040, "busy", headers=header), ok("After the backoff"))
    result, cap = run(ip, "%%llama\nHello")
    assert result.success, cap.stderr
    first, second = scripted.requests
    assert second.time - first.time >= 0.3  # INITIAL_RETRY_DELAY 0.5 s, less at most a quarter of jitter


# --- 7: a budget that holds ----------------------------------------------------------------------


def cjk_counting_server(seen) -> Answer:
    """Counts each CJK character as 1.5 prompt tokens (other text as 1 per 4 characters) and
    spends every one of max_tokens: as costly as the documented limits allow."""
    data = seen.json["data"]
    text = "".join(m["content"] for m in data["messages"])
    cjk = sum(1 for ch in text if "\u3000" <= ch <= "\u9fff")
    prompt = math.ceil(1.5 * cjk + (len(text) - cjk) / 4) + 5 * len(data["messages"])
    usage = {"prompt_tokens": prompt, "completion_tokens": data["max_tokens"]}
    return Answer(body={"success": True, "result": {"response": "好", "usage": usage}})


def test_failure_7_the_budget_holds_at_j16_against_a_server_counting_cjk_heavily(ip, scripted, magics):
    scripted.responder = cjk_counting_server
    ip.user_ns["texts"] = ["数据分析的教学" * 30 + str(i) for i in range(300)]  # 211 characters, 630 bytes each
    ip.run_line_magic("llama_config", "budget=0.002")
    result, cap = run(ip, "%%llama --over texts -j 16 -n 100 -q -o out\n总结：{item}")
    spent = magics.llama_session.spent
    assert spent <= 0.002, spent  # it was $0.002506
    out = ip.user_ns["out"]
    answered = [r for r in out if not isinstance(r, BaseException)]
    assert answered and spent == pytest.approx(sum(r.cost for r in answered))
    assert all("Budget reached" in m for m in out.errors.values()) and out.errors
    assert KEY not in everything_shown(cap)


def test_failure_7_a_completion_past_max_tokens_is_charged_what_the_server_reports(ip, scripted, magics):
    usage = {"prompt_tokens": 10, "completion_tokens": 5000}
    scripted.script(Answer(body={"success": True, "result": {"response": "long", "usage": usage}}))
    ip.run_line_magic("llama_config", "budget=1")
    result, cap = run(ip, "%%llama -n 10\nHello")
    assert result.success, cap.stderr
    assert magics.llama_session.spent == pytest.approx(cost(MODEL, 10, 5000))


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "-0.01"])
def test_failure_7_budget_refuses_nan_inf_and_negative(ip, magics, value):
    line = fails_in_one_line(ip, f"%llama_config budget={value}")
    assert "budget" in line and magics.budget is None


def test_the_worst_case_never_under_counts_any_script():
    for text in ("Hello there", "数据分析", "😀" * 10, "Ελληνικά", "\u0000\uffff"):
        bound = worst_prompt_tokens([{"role": "user", "content": text}])
        assert bound >= len(text.encode("utf-8")) + 1  # a byte-level BPE token covers at least one byte


# --- 9: big or broken --over inputs --------------------------------------------------------------


def test_failure_9_a_generator_that_raises_is_one_line_naming_the_item_and_nothing_is_sent(ip, scripted):
    def titles():
        yield "Dune"
        yield "Emma"
        raise OSError("the file went away")

    ip.user_ns["gen"] = titles()
    line = fails_in_one_line(ip, "%%llama --over gen -o from_gen\nSummarize {item}")
    assert "reading item 2 of gen raised OSError: the file went away" in line and "nothing was sent" in line
    assert not scripted.requests and "from_gen" not in ip.user_ns


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["list", "DataFrame with {item}"])
def test_failure_9_a_batch_of_100000_items_starts_fast(ip, scripted, kind):
    import pandas as pd

    n = 100_000
    if kind == "list":
        ip.user_ns["xs"], prompt = [f"title {i}" for i in range(n)], "Summarize {item}"
    else:
        ip.user_ns["xs"] = pd.DataFrame({"title": [f"title {i}" for i in range(n)], "year": range(n)})
        prompt = "Summarize {item}"  # {column} fields: test_failure_9_prepared_requests_share_...
    scripted.script(fail(401, 10000, "Authentication error"))  # stops the batch after its first request
    started = time.monotonic()
    line = fails_in_one_line(ip, f"%%llama --over xs -q -o out\n{prompt}")
    assert scripted.requests[0].time - started < 60  # it was 12 s for a list, 90 s for a DataFrame with {item}
    assert "Authentication failed" in line and len(scripted.requests) <= 16


def test_failure_9_prepared_requests_share_their_settings_and_cost_little_memory(ip, magics):
    import tracemalloc

    import pandas as pd

    from dataoorts_magic.batch import over

    frame = pd.DataFrame({"title": [f"title {i}" for i in range(10_000)], "year": range(10_000)})
    ip.user_ns["books"] = frame
    tracemalloc.start()
    try:
        batch = over.prepare(magics.llama_session, "Summarize {item} ({year})", {}, "books", ip.user_ns)
        used = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    first = batch.requests[0]
    assert all(r.settings is first.settings and r.params is first.params for r in batch.requests)
    assert used / len(batch.requests) < 2_000, used  # bytes per item (it was ~5,000)
    assert "| title | title 7 |" in batch.requests[7].messages[-1]["content"]
    assert batch.requests[7].messages[-1]["content"].endswith("(7)")


def test_a_row_reads_like_the_series_it_replaces(ip):
    import pandas as pd

    from dataoorts_magic.batch.frame_rows import FrameRows
    from dataoorts_magic.prompting.frame_markdown import frame_to_markdown

    frame = pd.DataFrame({"title": ["Dune", "Emma"], "pages": [412, 474], "x|y": ["a|b", None]}, index=["d", "e"])
    wide = pd.DataFrame([list(range(12))], columns=[f"c{i}" for i in range(12)])
    for df in (frame, wide):
        rows = FrameRows(df)
        for i in range(len(df)):
            assert str(rows[i]) == frame_to_markdown(df.iloc[i])
    row = FrameRows(frame)[1]
    assert (row["title"], row.pages, row.name, list(row)) == ("Emma", 474, "e", ["title", "pages", "x|y"])
    assert pd.isna(row["x|y"])


# --- 12: names -o must refuse ----------------------------------------------------------------------

BAD_NAMES = ["if", "None", "True", "False", "class", "In", "Out", "get_ipython", "exit", "quit"]
BAD_NAMES += ["_", "__", "___", "_ih", "_oh", "_dh", "_i", "_3", "_i3", "2x", "a-b", "a.b", "__x"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_failure_12_out_refuses_keywords_ipython_names_and_non_identifiers(ip, scripted, name):
    line = fails_in_one_line(ip, f"%%llama -o {name}\nHello")
    assert "--out" in line and "use a name like answer" in line
    assert not scripted.requests
    result, cap = run(ip, "%llama_config")  # get_ipython (how every magic finds the shell) still works
    assert result.success, cap.stderr


def test_ordinary_names_are_still_fine(ip, scripted):
    names = ("answer", "r1", "_private", "données")
    scripted.script(*[ok("Stored")] * len(names))
    for name in names:
        result, cap = run(ip, f"%%llama -q -o {name}\nHello")
        assert result.success and str(ip.user_ns[name]) == "Stored", cap.stderr
