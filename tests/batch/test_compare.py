"""%%llama --compare PARAM=V1,V2,...: one request per value, answers side by side, over loopback HTTP."""

from __future__ import annotations

import pytest
from support.shell import KEY, run

from dataoorts_magic.display.response import LlamaResponse
from dataoorts_magic.offline.server import OfflineServer

MODEL = "meta/llama-3.1-8b-instruct"
BIG = "meta/llama-3.1-70b-instruct"


def sent(server, name):
    return [r["body"]["data"].get(name) for r in server.requests]


def test_one_request_per_value_shown_as_columns(ip, online):
    result, cap = run(ip, "%%llama --compare temperature=0,0.7,1.5 -o answers\nName a colour.")
    assert result.success, cap.stderr
    assert sorted(sent(online, "temperature")) == [0.0, 0.7, 1.5]
    assert all(r["body"]["data"]["messages"][-1]["content"] == "Name a colour." for r in online.requests)
    answers = ip.user_ns["answers"]
    assert type(answers) is list and all(isinstance(a, LlamaResponse) for a in answers)
    assert [a.params["temperature"] for a in answers] == [0.0, 0.7, 1.5]  # in the order typed
    bundle = cap.outputs[-1]
    html = bundle.data["text/html"]
    headers = [html.index(f">temperature={v}<") for v in ("0", "0.7", "1.5")]
    assert headers == sorted(headers)
    assert html.count('class="dataoorts-footer"') == 3 and html.count("→") == 3  # each column's usage
    plain = bundle.data["text/plain"]
    assert "── temperature=0 ──" in plain and "── temperature=1.5 ──" in plain
    made = bundle.metadata["dataoorts_magic"]["compare"]
    assert [(m["column"], m["params"]["temperature"]) for m in made] == [
        ("temperature=0", 0.0),
        ("temperature=0.7", 0.7),
        ("temperature=1.5", 1.5),
    ]


def test_seed_and_top_k_values_are_whole_numbers(ip, online):
    result, _ = run(ip, "%%llama --compare seed=7,9999999999 -q -o out\nHi")
    assert result.success and sorted(sent(online, "seed")) == [7, 9999999999]
    assert all(type(s) is int for s in sent(online, "seed"))
    result, _ = run(ip, "%%llama --compare top-k=1,50 -q -o out\nHi")
    assert result.success and sorted(sent(online, "top_k")[-2:]) == [1, 50]


def test_models_compare_and_a_bad_model_fails_only_its_column(ip, online):
    result, cap = run(ip, f"%%llama --compare model={MODEL},{BIG} -o out\nHi")
    assert result.success, cap.stderr
    assert sorted(r["body"]["model"] for r in online.requests) == sorted([MODEL, BIG])
    assert [a.model for a in ip.user_ns["out"]] == [MODEL, BIG]
    result, cap = run(ip, f"%%llama --compare model=<b>nope</b>,{MODEL} -j 1 -o out\nHi")
    assert result.success, cap.stderr
    out = ip.user_ns["out"]
    assert isinstance(out[0], Exception) and "No such model" in str(out[0]) and isinstance(out[1], LlamaResponse)
    html = cap.outputs[-1].data["text/html"]
    assert "model=&lt;b&gt;nope&lt;/b&gt;" in html and "<b>nope" not in html
    failed, answered = cap.outputs[-1].metadata["dataoorts_magic"]["compare"]
    assert failed["column"] == "model=<b>nope</b>" and "No such model" in failed["error"] and "usage" not in failed
    assert answered["column"] == f"model={MODEL}" and answered["model"] == MODEL and "error" not in answered


def test_columns_run_concurrently(ip, monkeypatch):
    with OfflineServer(api_key=KEY, latency=0.3).start() as srv:
        monkeypatch.setenv("DATAOORTS_API_URL", srv.url)
        monkeypatch.setenv("DATAOORTS_API_KEY", KEY)
        run(ip, "%llama_config rate_limit=0")  # concurrency alone, with no client-side rate limit
        result, _ = run(ip, "%%llama --compare temperature=0,0.5,1 -q -o out\nHi")
        assert result.success and srv.max_in_flight == 3
        result, _ = run(ip, "%%llama --compare temperature=0,0.5,1 -j 1 -q -o out\nHi")
        assert result.success and srv.max_in_flight == 3 and srv.count == 6


def test_every_column_failing_fails_the_cell(ip, online, monkeypatch):
    monkeypatch.setenv("DATAOORTS_API_KEY", "sk-wrong")
    result, cap = run(ip, "%%llama --compare temperature=0,1 -j 1 -o out\nHi")
    assert not result.success
    line = str(result.error_in_exec)
    assert "Authentication failed" in line and "stopped after 1 of 2" in line
    assert online.count == 1  # the second was not sent with a key the server refused


@pytest.mark.parametrize(
    "option, words",
    [
        ("--compare temperature=0,9", "temperature=9 is out of range"),
        ("--compare top_k=1,2.5", "top_k='2.5' is not a whole number"),
        ("--compare max_tokens=10,9000", "max_tokens=9000 is out of range"),
        ("--compare colour=red,blue", "not a parameter; compare one of model, max_tokens"),
        ("--compare temperature=0,,1", "has an empty value"),
        ("--compare temperature", "is not PARAM=V1,V2"),
        ("-t 0.5 --compare temperature=0,1", "given both as a flag and in --compare"),
        ("--compare seed=1,2 --stream", "--stream applies to a single request"),
        ("--compare seed=1,2 -j 100", "-j 100 is out of range"),
    ],
)
def test_values_are_validated_before_anything_is_sent(ip, online, option, words):
    result, _ = run(ip, f"%%llama {option}\nHi")
    assert not result.success
    line = str(result.error_in_exec)
    assert words in line and "\n" not in line
    assert online.count == 0


def test_compare_help_is_listed(ip):
    from IPython.utils.capture import capture_output

    with capture_output() as cap:
        ip.run_line_magic("pinfo", "%%llama")
    text = cap.stdout
    for option in ("--over VAR", "--concurrency N", "--compare PARAM=V1,V2,...", "--stream"):
        assert option in text


def test_repeated_values_each_keep_their_column_and_provenance(ip, monkeypatch):
    monkeypatch.setenv("DATAOORTS_OFFLINE", "1")
    result, cap = run(ip, "%%llama --compare seed=42,42,7 -o out\nName a colour.")
    assert result.success, cap.stderr
    answers, bundle = ip.user_ns["out"], cap.outputs[-1]
    made = bundle.metadata["dataoorts_magic"]["compare"]  # one entry per column, in column order
    assert [m["column"] for m in made] == ["seed=42", "seed=42", "seed=7"]
    assert [m["params"]["seed"] for m in made] == [42, 42, 7]
    assert [m["prompt_sha256"] for m in made] == [a.prompt_sha256 for a in answers]
    assert [m["usage"]["total_tokens"] for m in made] == [a.usage.total_tokens for a in answers]
    assert all(m["offline"] is True and m["model"] == MODEL for m in made)
    # each column's footer says where its answer came from, in the page and in plain text
    plain, html = bundle.data["text/plain"], bundle.data["text/html"]
    assert html.count(">seed=42<") == 2 and html.count(">seed=7<") == 1
    assert [line.endswith(" · offline") for line in plain.split("\n") if line.startswith("-- ")] == [True] * 3
    assert html.count(" · offline</div>") == 3


@pytest.mark.parametrize("values, per_row", [("0,1", 2), ("0,0.5,1", 3), ("0,0.5,1,1.5", 2), ("0,0.3,0.6,0.9,1.2", 2)])
def test_columns_share_the_width_three_at_most_side_by_side(ip, online, values, per_row):
    result, cap = run(ip, f"%%llama --compare temperature={values}\nHi")
    assert result.success, cap.stderr
    html = cap.outputs[-1].data["text/html"]
    grid = f"display:grid;grid-template-columns:repeat({per_row},minmax(0,1fr))"
    assert html.startswith(f"<div class='dataoorts-compare' style='{grid}") and "min-width:16em" not in html
