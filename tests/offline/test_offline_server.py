"""The offline endpoint against its contract (INTERFACE.md sections 1 and 6), over real loopback HTTP."""

from __future__ import annotations

import argparse
import json
import math
import re
import signal
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

import pytest
import requests

from dataoorts_magic.offline.answers import cut_tokens, stream_pieces
from dataoorts_magic.offline.cli import add_serve_arguments
from dataoorts_magic.offline.input_schema import INPUT_SCHEMA, validate
from dataoorts_magic.offline.server import OfflineServer, count_tokens, fingerprint, start_offline

KEY = "test-key-123"
MODEL = "meta/llama-3.1-8b-instruct"
AUTH_FAILURE = (
    b'{"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null,"success":false}'
)
# The platform's published input schema, kept beside the project (not in the repository): the
# nearest folder above this file with shared/reference/ holds it (a worktree too).
REFERENCE_NAME = Path("shared") / "reference" / "workers-ai-llama-3.1-8b-instruct.input-schema.json"
REFERENCE_SCHEMA = next(
    (up / REFERENCE_NAME for up in Path(__file__).resolve().parents if (up / REFERENCE_NAME).exists()),
    Path(__file__).resolve().parents[3] / REFERENCE_NAME,
)


@pytest.fixture(scope="module")
def server():
    with OfflineServer(api_key=KEY) as s:
        yield s


@pytest.fixture(scope="module")
def http():
    with requests.Session() as session:
        yield session


def chat(text="Explain recursion in two sentences.", **params):
    return {"messages": [{"role": "user", "content": text}], **params}


def post(http, url, data, *, model=MODEL, key=KEY, **kwargs):
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return http.post(url, json={"model": model, "data": data}, headers=headers, timeout=10, **kwargs)


def ok(resp) -> dict:
    assert resp.status_code == 200, resp.text
    return resp.json()["result"]


def failed(resp, status=400) -> tuple[int, str]:
    assert resp.status_code == status, resp.text
    envelope = resp.json()
    assert envelope["success"] is False and envelope["result"] is None and envelope["messages"] == []
    [error] = envelope["errors"]
    return error["code"], error["message"]


# -- the success envelope --------------------------------------------------------------------------


def test_success_envelope_and_usage_arithmetic(http, server):
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Name three <b>prime</b> numbers, please."},
    ]
    resp = post(http, server.url, {"messages": messages, "max_tokens": 512})
    envelope = resp.json()
    assert resp.headers["Content-Type"] == "application/json"
    assert set(envelope) == {"errors", "messages", "result", "success"}
    assert envelope["success"] is True and envelope["errors"] == [] and envelope["messages"] == []
    result = envelope["result"]
    assert set(result) == {"response", "usage"}
    usage = result["usage"]
    assert usage["prompt_tokens"] == count_tokens("You are terse.") + count_tokens(messages[1]["content"]) + 8
    assert usage["completion_tokens"] == count_tokens(result["response"])
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_answer_is_labelled_markdown_that_echoes_the_request(http, server):
    text = ok(
        post(http, server.url, chat("Name three <b>prime</b> numbers.", temperature=0.2, seed=9, max_tokens=512))
    )["response"]
    assert text.startswith("## ")
    assert "dataoorts-magic offline endpoint" in text and "not from a language model" in text
    for bullet in (
        f"- **model**: `{MODEL}`",
        "- **temperature**: 0.2",
        "- **seed**: 9",
        "- **max_tokens**: 512",
        "- **messages**: 1 (user)",
    ):
        assert bullet in text
    assert "| word | count | weight |\n|---|---|---|" in text
    assert "```python\n" in text
    assert "**You asked:** Name three <b>prime</b> numbers." in text  # the user's text, not HTML we add
    assert "<" not in text.replace("<b>prime</b>", "")


def test_tokenizer_cut_and_stream_pieces():
    assert count_tokens("Hello, world!") == 4
    assert cut_tokens("one, two three", 2) == "one,"
    assert cut_tokens("one two", 5) == "one two"
    text = "  ## Head\n\nSome *text*, with punctuation!\n"
    assert "".join(stream_pieces(text)) == text


# -- the key ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "", "Basic dGVzdA==", "Bearer", "Bearer ", "Bearer wrong-key", f"Token {KEY}", f"Bearer {KEY} extra"],
)
def test_bearer_key_required_and_checked(http, server, header):
    headers = {} if header is None else {"Authorization": header}
    resp = http.post(server.url, json={"model": MODEL, "data": chat()}, headers=headers, timeout=10)
    assert resp.status_code == 401
    assert resp.content == AUTH_FAILURE


def test_auth_is_checked_before_the_body(http, server):
    resp = http.post(server.url, data=b"not json", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert resp.status_code == 401


def test_scheme_is_case_insensitive(http, server):
    resp = http.post(
        server.url, json={"model": MODEL, "data": chat()}, headers={"Authorization": f"bearer {KEY}"}, timeout=10
    )
    assert resp.status_code == 200


def test_server_without_key_accepts_any_bearer_token(http):
    with OfflineServer() as open_server:
        assert post(http, open_server.url, chat(), key="anything").status_code == 200
        assert post(http, open_server.url, chat(), key=None).status_code == 401


# -- routing, body and model -----------------------------------------------------------------------


def test_other_paths_and_methods(http, server):
    base = server.url.rsplit("/api/v1", 1)[0]
    assert failed(http.post(base + "/api/v2", json={}, timeout=10), 404)[0] == 7000
    assert failed(http.get(base + "/", timeout=10), 404)[0] == 7000
    resp = http.get(server.url, timeout=10)
    assert failed(resp, 405)[0] == 7001 and resp.headers["Allow"] == "POST"


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"model": "m", "data": {"messages": [], "temperature": NaN}}', "not valid JSON"),
        (b"[1, 2]", "'array' not in 'object'"),
        (b'{"data": {"messages": []}}', "'model'"),
        (b'{"model": 5, "data": {"messages": []}}', "Type mismatch of '/model', 'integer' not in 'string'"),
        (b'{"model": "meta/llama-3.1-8b-instruct"}', "'data'"),
        (b'{"model": "meta/llama-3.1-8b-instruct", "data": [1]}', "Type mismatch of '/data', 'array' not in 'object'"),
    ],
)
def test_malformed_bodies_are_bad_input(http, server, body, fragment):
    resp = http.post(
        server.url,
        data=body,
        timeout=10,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    code, message = failed(resp)
    assert code == 5006 and fragment in message


def test_unknown_model_is_5007(http, server):
    assert failed(post(http, server.url, chat(), model="acme/nope-1b")) == (5007, "No such model acme/nope-1b")


def test_every_model_in_the_table_answers(http, server):
    from dataoorts_magic.params import models

    for name in models():
        assert ok(post(http, server.url, chat(max_tokens=8), model=name))["usage"]["completion_tokens"] == 8


# -- the input schema, both sides of every rule ----------------------------------------------------

RANGES = [
    ("temperature", 0, 5, False),
    ("top_p", 0, 2, False),
    ("top_k", 1, 50, True),
    ("seed", 1, 9999999999, True),
    ("repetition_penalty", 0, 2, False),
    ("frequency_penalty", 0, 2, False),
    ("presence_penalty", 0, 2, False),
]


def _past(bound, direction, is_int):
    return bound + direction if is_int else math.nextafter(bound, direction * math.inf)


@pytest.mark.parametrize("name, low, high, is_int", RANGES)
def test_range_bounds(http, server, name, low, high, is_int):
    for value in (low, high):
        assert post(http, server.url, chat(**{name: value, "max_tokens": 4})).status_code == 200
    for value, word in ((_past(low, -1, is_int), "minimum"), (_past(high, 1, is_int), "maximum")):
        code, message = failed(post(http, server.url, chat(**{name: value})))
        assert code == 5006 and f"'/{name}'" in message and word in message


TYPE_ERRORS = [
    ({"temperature": "0.5"}, "Type mismatch of '/temperature', 'string' not in 'number'"),
    ({"temperature": True}, "Type mismatch of '/temperature', 'boolean' not in 'number'"),
    ({"top_p": None}, "Type mismatch of '/top_p', 'null' not in 'number'"),
    ({"top_k": 1.5}, "Type mismatch of '/top_k', 'number' not in 'integer'"),
    ({"top_k": False}, "Type mismatch of '/top_k', 'boolean' not in 'integer'"),
    ({"seed": "42"}, "Type mismatch of '/seed', 'string' not in 'integer'"),
    ({"max_tokens": 10.5}, "Type mismatch of '/max_tokens', 'number' not in 'integer'"),
    ({"max_tokens": "10"}, "Type mismatch of '/max_tokens', 'string' not in 'integer'"),
    ({"max_tokens": True}, "Type mismatch of '/max_tokens', 'boolean' not in 'integer'"),
    ({"stream": "yes"}, "Type mismatch of '/stream', 'string' not in 'boolean'"),
    ({"stream": 1}, "Type mismatch of '/stream', 'integer' not in 'boolean'"),
    ({"functions": {}}, "Type mismatch of '/functions', 'object' not in 'array'"),
    ({"tools": "search"}, "Type mismatch of '/tools', 'string' not in 'array'"),
]
MESSAGE_ERRORS = [
    ({}, "Missing required property '/messages'"),
    ({"messages": "hi"}, "Type mismatch of '/messages', 'string' not in 'array'"),
    ({"messages": {"role": "user"}}, "Type mismatch of '/messages', 'object' not in 'array'"),
    ({"messages": ["hi"]}, "Type mismatch of '/messages/0', 'string' not in 'object'"),
    ({"messages": [{"role": "user"}]}, "Missing required property '/messages/0/content'"),
    ({"messages": [{"content": "x"}]}, "Missing required property '/messages/0/role'"),
    (
        {"messages": [{"role": "user", "content": "a"}, {"role": 1, "content": "x"}]},
        "Type mismatch of '/messages/1/role', 'integer' not in 'string'",
    ),
    (
        {"messages": [{"role": "user", "content": ["x"]}]},
        "Type mismatch of '/messages/0/content', 'array' not in 'string'",
    ),
    (
        {"messages": [{"role": "user", "content": None}]},
        "Type mismatch of '/messages/0/content', 'null' not in 'string'",
    ),
    ({"messages": [{"role": "user", "content": "x" * 131073}]}, "'/messages/0/content' is too long"),
]
ACCEPTED = [
    chat(top_k=3.0),
    chat(max_tokens=64.0),
    chat(seed=1e3),  # JSON Schema: 3.0 is an integer
    chat(temperature=1),
    chat(stream=False),
    chat(functions=[]),
    chat(tools=[{"name": "x"}]),
    chat(image="abc"),
    chat(image=[1, 2]),
    chat(image=None),
    chat(response_format={"type": "json"}, unknown=[1]),  # not in the schema: allowed, ignored
    {"messages": []},
    {"messages": [{"role": "user", "content": "x", "name": "ada", "extra": 1}]},
    {"messages": [{"role": "whatever", "content": ""}]},
    {"messages": [{"role": "user", "content": "x" * 131072}]},
]


@pytest.mark.parametrize("data, expected", TYPE_ERRORS + MESSAGE_ERRORS)
def test_schema_violations_are_5006_naming_the_field(http, server, data, expected):
    base = {} if "messages" in data or not data else chat()
    code, message = failed(post(http, server.url, {**base, **data}))
    assert code == 5006 and expected in message


@pytest.mark.parametrize("data", ACCEPTED)
def test_schema_accepts(http, server, data):
    assert post(http, server.url, data).status_code == 200


def test_unknown_top_level_keys_are_ignored(http, server):
    resp = http.post(
        server.url,
        json={"model": MODEL, "data": chat(), "extra": {"a": 1}},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    assert resp.status_code == 200


def test_embedded_schema_is_the_reference_schema():
    if not REFERENCE_SCHEMA.exists():
        pytest.skip(
            f"compares our copy of the platform's input schema (offline/input_schema.py) with the published one, "
            f"which is not part of this repository: put it at {REFERENCE_NAME} in a folder above the checkout to run it"
        )
    reference = json.loads(REFERENCE_SCHEMA.read_text())
    reference.pop("$comment")
    assert reference == INPUT_SCHEMA


def test_validator_agrees_with_jsonschema():
    jsonschema = pytest.importorskip("jsonschema")
    checker = jsonschema.Draft202012Validator(INPUT_SCHEMA)
    bounds = [chat(**{n: v}) for n, lo, hi, i in RANGES for v in (lo, hi, _past(lo, -1, i), _past(hi, 1, i))]
    cases = [{**chat(), **d} for d, _ in TYPE_ERRORS] + [d for d, _ in MESSAGE_ERRORS] + ACCEPTED + bounds
    for data in cases:
        assert (validate(data) is None) == checker.is_valid(data), data


def test_parameters_a_model_does_not_take_are_ignored(http, server):
    guard = ok(post(http, server.url, chat(top_k=5, seed=3, max_tokens=400), model="meta/llama-guard-3-8b"))
    assert "top_k" not in guard["response"] and "- **seed**: not set" in guard["response"]
    full = ok(post(http, server.url, chat(top_k=5, seed=3, max_tokens=400)))
    assert "- **top_k**: 5" in full["response"] and "- **seed**: 3" in full["response"]


# -- max_tokens, seeds, json -----------------------------------------------------------------------


def test_max_tokens_cuts_the_answer(http, server):
    full = ok(post(http, server.url, chat(seed=5, max_tokens=2000)))
    short = ok(post(http, server.url, chat(seed=5, max_tokens=10)))
    assert short["usage"]["completion_tokens"] == 10 == count_tokens(short["response"])
    assert full["usage"]["completion_tokens"] > 10
    assert full["response"].startswith(short["response"]) and len(short["response"]) < len(full["response"])
    nothing = ok(post(http, server.url, chat(max_tokens=0)))
    assert nothing["response"] == "" and nothing["usage"]["completion_tokens"] == 0


def test_default_max_tokens_is_256(http, server):
    long_prompt = " ".join(f"word{i}" for i in range(400))
    assert ok(post(http, server.url, chat(long_prompt)))["usage"]["completion_tokens"] == 256
    assert ok(post(http, server.url, chat(long_prompt, max_tokens=2000)))["usage"]["completion_tokens"] > 256


def test_same_seed_same_answer_other_seed_or_temperature_other_answer(http, server):
    def text(**params):
        return ok(post(http, server.url, chat(max_tokens=512, **params)))["response"]

    assert text(seed=42) == text(seed=42)
    assert text(seed=42) != text(seed=43)
    assert text(seed=42, temperature=0.3) != text(seed=42, temperature=1.3)
    assert text(temperature=0) == text(temperature=0)  # greedy: repeatable without a seed


def test_json_prompt_gives_a_parseable_fenced_block(http, server):
    text = ok(post(http, server.url, chat("Return a JSON object with three items.", seed=8, max_tokens=512)))[
        "response"
    ]
    block = re.search(r"```json\n(.*?)\n```", text, re.S)
    payload = json.loads(block.group(1))
    assert payload["source"] == "offline" and payload["prompt_words"] == 7
    assert payload["seed"] == 8 and payload["temperature"] == 0.6 and len(payload["items"]) == 3


# -- streaming ---------------------------------------------------------------------------------------


def _events(resp) -> list:
    lines = [line for line in resp.iter_lines() if line]
    assert all(line.startswith(b"data: ") for line in lines)
    return [line[len(b"data: ") :] for line in lines]


def test_stream_events_join_to_the_same_answer(http, server):
    data = chat(seed=11, max_tokens=512)
    whole = ok(post(http, server.url, data))
    resp = post(http, server.url, {**data, "stream": True}, stream=True)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/event-stream"
    events = _events(resp)
    assert events[-1] == b"[DONE]"
    parsed = [json.loads(e) for e in events[:-1]]
    assert parsed[-1] == {"response": "", "usage": whole["usage"]}
    assert any("p" in e for e in parsed) and len(parsed) > 5
    assert "".join(e["response"] for e in parsed) == whole["response"]


def test_stream_respects_max_tokens(http, server):
    events = _events(post(http, server.url, chat(stream=True, max_tokens=5), stream=True))
    assert json.loads(events[-2])["usage"]["completion_tokens"] == 5


# -- the connection and the stats ------------------------------------------------------------------


def test_keep_alive_reuses_one_connection(server):
    host, port = server.url.split("//")[1].split("/")[0].split(":")
    conn = HTTPConnection(host, int(port), timeout=10)
    body = json.dumps({"model": MODEL, "data": chat(max_tokens=4)})
    sockets = []
    for _ in range(3):
        conn.request("POST", "/api/v1", body, {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Connection") is None
        resp.read()
        sockets.append(conn.sock)
    assert sockets[0] is not None and sockets[0] is sockets[1] is sockets[2]
    conn.close()


def test_requests_are_recorded_with_the_key_redacted(http):
    with OfflineServer(api_key=KEY) as s:
        http.post(
            s.url,
            json={"model": MODEL, "data": chat()},
            timeout=10,
            headers={"Authorization": f"Bearer {KEY}", "X-Trace": "t1"},
        )
        http.post(s.url, data=b"{", headers={"Authorization": "Bearer other"}, timeout=10)
        first, second = s.requests
        assert first["status"] == 200 and first["body"] == {"model": MODEL, "data": chat()}
        assert first["headers"]["authorization"] == fingerprint(KEY) and first["headers"]["x-trace"] == "t1"
        assert re.fullmatch(r"bearer-sha256:[0-9a-f]{12}", fingerprint(KEY))
        assert second == {"headers": second["headers"], "body": None, "status": 401}
        assert KEY not in repr(s.requests)
        assert s.count == 2 and s.in_flight in (0, 1)


# -- fault injection ---------------------------------------------------------------------------------


def test_script_overrides_in_order(http):
    script = [
        {"status": 503, "code": 3040},
        {"drop": True},
        {"body": "<html>Bad gateway</html>", "status": 502, "content_type": "text/html"},
        {"latency": 0.2},
        {"status": 429},
    ]
    with OfflineServer(script=script) as s:
        assert failed(post(http, s.url, chat()), 503)[0] == 3040
        with pytest.raises(requests.exceptions.RequestException):
            post(http, s.url, chat())
        html = post(http, s.url, chat())
        assert html.status_code == 502 and html.headers["Content-Type"] == "text/html"
        assert html.text == "<html>Bad gateway</html>"
        started = time.monotonic()
        assert post(http, s.url, chat()).status_code == 200
        assert time.monotonic() - started >= 0.2
        limited = post(http, s.url, chat())
        assert failed(limited, 429)[0] == 3040 and limited.headers["Retry-After"] == "1"
        assert post(http, s.url, chat()).status_code == 200  # the script is used up
        assert [r["status"] for r in s.requests] == [503, 200, 502, 200, 429, 200]


def test_dropped_stream_never_finishes(http):
    with OfflineServer(script=[{"drop": True}]) as s:
        seen = []
        with pytest.raises(requests.exceptions.RequestException):
            for line in post(http, s.url, chat(stream=True), stream=True).iter_lines():
                seen.append(line)
        assert seen and b"data: [DONE]" not in seen


def test_enqueue_adds_overrides(http):
    with OfflineServer() as s:
        s.enqueue({"status": 500})
        assert failed(post(http, s.url, chat()), 500)[0] == 3043
        assert post(http, s.url, chat()).status_code == 200


def test_rate_limit_answers_429_with_retry_after(http):
    with OfflineServer(rate_limit=2) as s:
        assert [post(http, s.url, chat()).status_code for _ in range(2)] == [200, 200]
        resp = post(http, s.url, chat())
        assert failed(resp, 429)[0] == 3040
        assert 1 <= int(resp.headers["Retry-After"]) <= 60


def _outcomes(fault_seed, n=24):
    outcomes = []
    with OfflineServer(fail_rate=0.5, fault_seed=fault_seed) as s, requests.Session() as session:
        for _ in range(n):
            try:
                outcomes.append(post(session, s.url, chat(max_tokens=4)).status_code)
            except requests.exceptions.RequestException:
                outcomes.append("drop")
    return outcomes


def test_fail_rate_is_reproducible_with_a_fault_seed():
    first = _outcomes(11)
    assert first == _outcomes(11)
    assert 200 in first and len(set(first)) > 2
    assert set(first) <= {200, 429, 503, 500, "drop"}


@pytest.mark.parametrize(
    "kind, status, content_type",
    [
        ("429", 429, "application/json"),
        ("503", 503, "application/json"),
        ("500", 500, "application/json"),
        ("502", 502, "text/html"),
    ],
)
def test_each_fail_kind(http, kind, status, content_type):
    with OfflineServer(fail_rate=1, fail_kinds=[kind]) as s:
        resp = post(http, s.url, chat())
        assert resp.status_code == status and resp.headers["Content-Type"] == content_type
        if kind in ("429", "503"):
            assert resp.json()["errors"][0]["code"] == 3040
        if kind == "429":
            assert resp.headers["Retry-After"] == "1"


@pytest.mark.parametrize("kwargs", [{"fail_rate": 1.5}, {"latency": -1}, {"rate_limit": 0}, {"fail_kinds": ["teapot"]}])
def test_bad_fault_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        OfflineServer(**kwargs)


def test_concurrent_requests_are_served_in_parallel():
    n = 8
    barrier = threading.Barrier(n)
    statuses = []

    def client(url):
        barrier.wait()
        statuses.append(
            requests.post(
                url,
                json={"model": MODEL, "data": chat(max_tokens=4)},
                headers={"Authorization": "Bearer k"},
                timeout=10,
            ).status_code
        )

    with OfflineServer(latency=0.25) as s:
        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(s.url,)) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        assert statuses == [200] * n and s.count == n
        assert s.max_in_flight >= n // 2
        assert elapsed < 0.25 * n / 2


# -- the process-wide instance and the command line ------------------------------------------------


def test_start_offline_is_a_singleton_that_accepts_only_its_key(http):
    results = []
    threads = [threading.Thread(target=lambda: results.append(start_offline())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    url, key = start_offline()
    assert results == [(url, key)] * 4
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/v1", url)
    assert post(http, url, chat(), key=key).status_code == 200
    assert post(http, url, chat(), key=key + "x").status_code == 401


def test_serve_arguments():
    parser = add_serve_arguments(argparse.ArgumentParser())
    defaults = parser.parse_args([])
    assert vars(defaults) == {
        "host": "127.0.0.1",
        "port": 8000,
        "latency": 0.0,
        "fail_rate": 0.0,
        "fail_kinds": ("429", "503", "500", "drop"),
        "rate_limit": None,
        "api_key": None,
    }
    args = parser.parse_args(
        ["--port", "0", "--latency", "0.5", "--fail-rate", "0.2", "--rate-limit", "3", "--api-key", "k"]
    )
    assert (args.port, args.latency, args.fail_rate, args.rate_limit, args.api_key) == (0, 0.5, 0.2, 3, "k")
    for bad in (
        ["--fail-rate", "2"],
        ["--rate-limit", "0"],
        ["--latency", "-1"],
        ["--port", "70000"],
        ["--fail-kinds", "429,teapot"],
        ["--fail-kinds", ""],
    ):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


@pytest.mark.usefixtures("default_sigint")  # the server it starts inherits how SIGINT is handled
def test_serve_runs_in_the_foreground_until_ctrl_c(http):
    secret = "sekrit-key-9"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dataoorts_magic.offline.cli", "--port", "0", "--api-key", secret],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        banner = proc.stdout.readline() + proc.stdout.readline() + proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/api/v1", banner).group(0)
        assert f"DATAOORTS_API_URL={url} DATAOORTS_API_KEY=" in banner and "Ctrl-C" in banner
        assert post(http, url, chat(), key=secret).status_code == 200
        assert "POST /api/v1 -> 200" in proc.stdout.readline()  # one line per request
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0 and "Stopped" in rest
        assert secret not in banner + rest
    finally:
        if proc.poll() is None:
            proc.kill()
