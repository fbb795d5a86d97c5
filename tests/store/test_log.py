"""The SQLite log and the cache: rows as written by real cells, concurrency, failures, cache hits and replay."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from support.shell import KEY, everything_shown, run

from dataoorts_magic.display.response import Usage
from dataoorts_magic.params import cost
from dataoorts_magic.store.log import ExchangeLog, cache_key, log_path
from dataoorts_magic.store.migrations import SCHEMA_VERSION

DEFAULT = "meta/llama-3.1-8b-instruct"


@pytest.fixture(autouse=True)
def no_conversations(ip, magics):
    magics.llama_session.conversations.clear()


def rows(tmp_path) -> list[dict]:
    return ExchangeLog(tmp_path / "log.sqlite3").rows()


def database_bytes(tmp_path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob("log.sqlite3*"))


def footer_of(cap) -> str:
    return cap.outputs[-1].data["text/plain"].rsplit("\n\n-- ", 1)[1]


def test_every_exchange_is_a_row_with_what_was_sent_and_what_came_back(ip, online, tmp_path):
    assert log_path() == tmp_path / "log.sqlite3"
    result, cap = run(ip, '%%llama -c lesson -s "Be brief." -t 0.3 -n 50\nWhat is a median?')
    assert result.success, cap.stderr
    [row] = rows(tmp_path)
    usage = online.requests[-1]
    assert row["conversation"] == "lesson" and row["model"] == DEFAULT
    assert json.loads(row["messages"]) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is a median?"},
    ]
    assert json.loads(row["params"]) == {"max_tokens": 50, "temperature": 0.3}
    assert row["answer"] == cap.outputs[-1].data["text/plain"].rsplit("\n\n-- ", 1)[0]
    assert f"{row['prompt_tokens']} → {row['completion_tokens']} tokens" in footer_of(cap)
    assert row["total_tokens"] == row["prompt_tokens"] + row["completion_tokens"]
    assert row["cost"] == pytest.approx(cost(DEFAULT, row["prompt_tokens"], row["completion_tokens"]))
    assert row["status"] == "ok" and row["error"] is None and row["cached"] == 0 and row["offline"] == 0
    assert row["elapsed"] > 0 and row["time"] > 1.7e9 and usage["status"] == 200
    assert row["cache_key"] == cache_key(DEFAULT, json.loads(row["messages"]), json.loads(row["params"]))


def test_failures_are_logged_with_their_error_and_the_key_is_never_written(ip, online, tmp_path, monkeypatch):
    run(ip, f"%%llama -n 20\nA prompt that quotes the key {KEY} by mistake")
    monkeypatch.setenv("DATAOORTS_API_KEY", "sk-wrong-" + KEY[::-1])
    result, cap = run(ip, "%%llama -n 20\nThis one is refused")
    assert not result.success and "Authentication failed" in cap.stderr
    ok, failed = rows(tmp_path)
    assert ok["status"] == "ok" and "***" in ok["messages"]
    assert failed["status"] == "error" and failed["error"].startswith("AuthenticationError: Authentication failed")
    assert failed["answer"] is None and failed["cost"] is None
    data = database_bytes(tmp_path)
    assert KEY.encode() not in data and KEY[::-1].encode() not in data and b"sk-wrong-" not in data


def test_offline_exchanges_are_flagged(ip, tmp_path):
    run(ip, "%llama_config --offline")
    result, cap = run(ip, "%%llama -n 20\nHi")
    assert result.success, cap.stderr
    assert rows(tmp_path)[-1]["offline"] == 1


@pytest.mark.parametrize("how", ["config", "environment"])
def test_log_off_writes_nothing(ip, online, tmp_path, monkeypatch, how):
    if how == "config":
        run(ip, "%llama_config log=off")
    else:
        monkeypatch.setenv("DATAOORTS_MAGIC_LOG", "0")
    result, _ = run(ip, "%%llama -n 20\nHi")
    assert result.success
    assert not list(tmp_path.glob("log.sqlite3*"))


def test_schema_version_and_indexes(ip, online, tmp_path):
    run(ip, "%%llama -n 20\nHi")
    with sqlite3.connect(tmp_path / "log.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"exchanges_cache_key", "exchanges_time", "usage_totals", "exchanges_count"} <= names


def test_usage_totals_match_the_rows_after_inserts_and_deletes(tmp_path):
    log = ExchangeLog(tmp_path / "log.sqlite3")
    for i in range(30):
        log.record(
            model=f"m{i % 3}",
            messages=[],
            params={},
            answer="a",
            usage=Usage(i, 2 * i, 3 * i),
            cost=None if i == 7 else i / 1e6,
            cached=i % 5 == 0,
            error="E: x" if i % 11 == 0 else None,
        )
    with sqlite3.connect(log.path) as conn:
        conn.execute("DELETE FROM exchanges WHERE id % 4 = 0")  # a user pruning their log by hand

    expected = {}
    for r in log.rows():
        t = expected.setdefault(
            r["model"],
            {
                "requests": 0,
                "cached": 0,
                "errors": 0,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "cost": 0.0,
                "unknown_cost": 0,
            },
        )
        t["requests"] += 1
        t["cached"] += r["cached"]
        t["errors"] += r["status"] != "ok" and not r["cached"]
        if r["status"] == "ok" and not r["cached"]:
            t["prompt_tokens"] += r["prompt_tokens"]
            t["completion_tokens"] += r["completion_tokens"]
            t["cost"] += r["cost"] or 0
            t["unknown_cost"] += r["cost"] is None
    got = log.usage()
    assert got.keys() == expected.keys()
    for model in got:
        assert got[model] == pytest.approx(expected[model])


def test_a_log_from_a_newer_version_is_not_touched(ip, online, tmp_path):
    with sqlite3.connect(tmp_path / "log.sqlite3") as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    result, cap = run(ip, "%%llama -n 20\nHi")
    assert result.success and cap.outputs
    assert "newer dataoorts-magic" in cap.stderr


WRITER = textwrap.dedent("""
    import sys
    from dataoorts_magic.store.log import ExchangeLog
    from dataoorts_magic.display.response import Usage
    log = ExchangeLog(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()  # both processes start writing together
    for i in range(int(sys.argv[3])):
        log.record(model="m", messages=[{"role": "user", "content": f"{sys.argv[2]}-{i}"}],
                   params={"max_tokens": 5}, answer="a", usage=Usage(1, 2, 3), cost=0.0, elapsed=0.1,
                   session=sys.argv[2])
    print("done", flush=True)
""")


def test_two_processes_writing_at_once_lose_no_rows(tmp_path):
    path, n = tmp_path / "shared" / "log.sqlite3", 300
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and out.strip() == "done", err
    written = ExchangeLog(path).rows()
    assert len(written) == 2 * n
    for name in ("a", "b"):
        contents = [json.loads(r["messages"])[0]["content"] for r in written if r["session"] == name]
        assert contents == [f"{name}-{i}" for i in range(n)]


def test_an_unwritable_log_warns_once_and_the_answer_still_shows(ip, online, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log folder should be")
    monkeypatch.setenv("DATAOORTS_MAGIC_HOME", str(blocker / "sub"))
    result, cap = run(ip, "%%llama -n 20\nHi")
    assert result.success and cap.outputs and "tokens" in footer_of(cap)
    assert cap.stderr.count("could not be used") == 1 and "answers are shown but not logged" in cap.stderr
    result, cap = run(ip, "%%llama -n 20\nHi again")
    assert result.success and cap.outputs and "could not be used" not in cap.stderr


def test_a_corrupt_log_warns_once_and_the_answer_still_shows(ip, online, tmp_path):
    (tmp_path / "log.sqlite3").write_bytes(b"this is not a database" * 100)
    result, cap = run(ip, "%%llama -n 20\nHi")
    assert result.success and cap.outputs
    assert cap.stderr.count(str(tmp_path / "log.sqlite3")) == 1
    result, cap = run(ip, "%%llama -n 20\nHi")
    assert result.success and cap.outputs and cap.stderr == ""


def test_cache_on_answers_an_identical_request_from_the_log(ip, online, tmp_path):
    run(ip, "%llama_config cache=on")
    _, first = run(ip, "%%llama -t 0.2 -n 40\nName three primes.")
    count = online.count
    result, again = run(ip, "%%llama -t 0.2 -n 40\nName three primes.")
    assert result.success and online.count == count  # nothing sent
    footer = footer_of(again)
    assert "cached" in footer and "$0 ·" in footer
    assert (
        again.outputs[-1].data["text/plain"].split("\n\n-- ")[0]
        == first.outputs[-1].data["text/plain"].split("\n\n-- ")[0]
    )
    assert again.outputs[-1].metadata["dataoorts_magic"]["cached"] is True
    assert rows(tmp_path)[-1]["cached"] == 1

    run(ip, "%%llama -t 0.3 -n 40\nName three primes.")  # a different parameter is a different request
    assert online.count == count + 1
    result, cap = run(ip, "%%llama -t 0.2 -n 40 --no-cache\nName three primes.")
    assert result.success and online.count == count + 2 and "cached" not in footer_of(cap)


def test_replay_never_calls_the_network_and_a_miss_names_the_log(ip, online, tmp_path):
    run(ip, "%llama_config cache=replay")
    result, cap = run(ip, "%%llama -n 40\nNever recorded")
    assert not result.success and online.count == 0
    assert f"there is no log at {tmp_path / 'log.sqlite3'}" in cap.stderr
    assert not (tmp_path / "log.sqlite3").exists()

    run(ip, "%%llama --no-cache -n 40\nSomething else")  # --no-cache: this cell asks the endpoint
    assert online.count == 1
    result, cap = run(ip, "%%llama -n 40\nNever recorded")
    assert not result.success and online.count == 1
    message = cap.stderr.strip()
    assert "No recorded answer" in message and str(tmp_path / "log.sqlite3") in message
    assert "Traceback" not in message and len(message.splitlines()) == 1


def test_a_shipped_log_replays_offline_and_free_with_no_key(ip, online, tmp_path, monkeypatch):
    """The teacher runs the notebook once; students re-run it from the log beside it, with no key."""
    course = tmp_path / "course"
    monkeypatch.setenv("DATAOORTS_MAGIC_HOME", str(course))
    _, recorded = run(ip, "%%llama -n 40\nExplain {{variance}}.")
    for var in ("DATAOORTS_API_KEY", "DATAOORTS_API_URL"):
        monkeypatch.delenv(var)
    monkeypatch.chdir(course)
    monkeypatch.setenv("DATAOORTS_MAGIC_HOME", ".")
    run(ip, "%llama_config cache=replay")
    count = online.count
    result, cap = run(ip, "%%llama -n 40\nExplain {{variance}}.")
    assert result.success, cap.stderr
    assert online.count == count
    assert "cached" in footer_of(cap) and "$0" in footer_of(cap)
    assert (
        cap.outputs[-1].data["text/plain"].split("\n\n-- ")[0]
        == recorded.outputs[-1].data["text/plain"].split("\n\n-- ")[0]
    )
    assert KEY not in everything_shown(cap)


def test_cache_key_is_canonical():
    a = cache_key("m", [{"role": "user", "content": "hi"}], {"temperature": 0.5, "max_tokens": 10})
    b = cache_key("m", [{"content": "hi", "role": "user"}], {"max_tokens": 10, "temperature": 0.5})
    assert a == b
    assert a != cache_key("m", [{"role": "user", "content": "hi"}], {"max_tokens": 11, "temperature": 0.5})
    assert a != cache_key("other", [{"role": "user", "content": "hi"}], {"temperature": 0.5, "max_tokens": 10})
