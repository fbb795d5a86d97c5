"""Resume: a batch whose last run did not finish sends only what it has no answer for.

Real processes and real HTTP: a batch runs in a child process against a loopback endpoint that
answers the first 12 requests and holds the rest; the child is killed with SIGKILL mid-way, and
a new process runs the same cell. What the server receives, and what the user gets, is checked.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from support.shell import run

CHILD = textwrap.dedent(
    """
    import json, sys
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "dataoorts_magic")
    ip.run_line_magic("llama_config", "rate_limit=0")
    ip.user_ns["rows"] = [f"row {i:02d}" for i in range(int(sys.argv[1]))]
    result = ip.run_cell("%%llama --over rows -j 4 -q -o out\\nLabel {item}")
    out = ip.user_ns["out"]
    print(json.dumps({"ok": result.success, "texts": out.texts, "totals": out.totals()}))
    """
)


def until(condition, limit=30.0, what="condition"):
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"{what} not reached"
        time.sleep(0.02)


def logged_answers(home) -> int:
    path = home / "log.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=10) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM exchanges WHERE status = 'ok'").fetchone()[0]
        except sqlite3.OperationalError:  # the child has not made the table yet
            return 0


def child(n: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(n)], stdout=subprocess.PIPE, text=True, env=os.environ)


@pytest.mark.slow
def test_a_batch_killed_mid_way_resumes_in_a_new_process(endpoint_held, tmp_path):
    rows = [f"row {i:02d}" for i in range(30)]
    endpoint_held.reset(answer_first=12)
    first = child(len(rows))
    try:
        assert endpoint_held.answered.wait(60), "the first run did not get going"
        until(lambda: logged_answers(tmp_path) == 12, what="12 answers in the log")  # each logged as it arrives
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    answered = endpoint_held.prompts(200)
    assert len(answered) == 12
    endpoint_held.reset()  # a new run: the server answers everything again
    second = child(len(rows))
    report = json.loads(second.communicate(timeout=120)[0].splitlines()[-1])
    assert report["ok"]
    assert report["texts"] == [f"Answer to: Label {row}" for row in rows]  # every answer, in input order
    sent = endpoint_held.prompts()
    assert sorted(sent) == sorted({f"Label {row}" for row in rows} - set(answered))  # only the rest, once each
    assert "resumed 12 answers from the log, sent 18" in report["totals"]


def test_failed_items_are_sent_again_alone_and_reused_answers_cost_nothing(ip, endpoint_held):
    items = [f"row {i}" for i in range(8)]
    ip.user_ns["rows"] = items
    endpoint_held.fail = {"Label row 2", "Label row 5"}
    result, _ = run(ip, "%%llama --over rows -j 3 -q -o out\nLabel {item}")
    assert result.success and sorted(ip.user_ns["out"].errors) == [2, 5]
    first_cost = ip.user_ns["out"].cost
    endpoint_held.fail = set()
    endpoint_held.reset()
    result, cap = run(ip, "%%llama --over rows -j 3 -o out\nLabel {item}")
    out = ip.user_ns["out"]
    assert result.success and sorted(endpoint_held.prompts()) == ["Label row 2", "Label row 5"]
    assert out.texts == [f"Answer to: Label {item}" for item in items] and out.errors == {}
    assert out.resumed == 6 and out.sent == 2
    totals = cap.outputs[-1].data["text/plain"].rsplit("\n-- ", 1)[1]
    assert totals.startswith("8 requests · resumed 6 answers from the log, sent 2 · ")
    assert out.cost == pytest.approx(first_cost / 6 * 2)  # the six reused answers cost nothing now
    assert all(out[i].cached for i in (0, 1, 3, 4, 6, 7)) and not out[2].cached
    # this run finished: running the cell again asks again, as any cell does
    endpoint_held.reset()
    run(ip, "%%llama --over rows -j 3 -q -o out\nLabel {item}")
    assert len(endpoint_held.prompts()) == 8 and ip.user_ns["out"].resumed == 0


def test_no_cache_always_asks_again(ip, endpoint_held):
    ip.user_ns["rows"] = ["a", "b", "c"]
    endpoint_held.fail = {"Label b"}
    run(ip, "%%llama --over rows -q -o out\nLabel {item}")
    endpoint_held.fail = set()
    endpoint_held.reset()
    result, _ = run(ip, "%%llama --over rows --no-cache -q -o out\nLabel {item}")
    assert result.success and sorted(endpoint_held.prompts()) == ["Label a", "Label b", "Label c"]
    assert ip.user_ns["out"].resumed == 0


@pytest.mark.parametrize(
    "changed",
    ["%%llama --over rows -t 0.5 -q -o out\nLabel {item}", "%%llama --over rows -q -o out\nTag {item}"],
    ids=["another parameter", "another prompt"],
)
def test_another_batch_is_not_resumed(ip, endpoint_held, changed):
    ip.user_ns["rows"] = ["a", "b", "c"]
    endpoint_held.fail = {"Label b"}
    run(ip, "%%llama --over rows -q -o out\nLabel {item}")
    endpoint_held.fail = set()
    endpoint_held.reset()
    run(ip, changed)
    assert len(endpoint_held.prompts()) == 3 and ip.user_ns["out"].resumed == 0
    ip.user_ns["rows"] = ["c", "b", "a"]  # the same items in another order are another batch too
    endpoint_held.reset()
    run(ip, "%%llama --over rows -q -o out\nLabel {item}")
    assert len(endpoint_held.prompts()) == 3 and ip.user_ns["out"].resumed == 0


def test_a_log_written_by_the_previous_version_is_migrated_and_still_answers(ip, magics, online, tmp_path):
    from dataoorts_magic.store.log import cache_key
    from dataoorts_magic.store.migrations import COLUMNS, MIGRATIONS, SCHEMA_VERSION

    req = magics.llama_session.request("Hi from last year", {})
    with sqlite3.connect(tmp_path / "log.sqlite3") as conn:  # a version-1 file, as 0.1 wrote it
        for statement in MIGRATIONS[1]:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        v1 = [c for c in COLUMNS if c != "batch_run"]
        values = dict.fromkeys(v1)
        values.update(
            time=0.0,
            model=req.model,
            messages=json.dumps(req.messages),
            params=json.dumps(req.params, sort_keys=True),
            cache_key=cache_key(req.model, req.messages, req.params),
            answer="An answer from the old log",
            status="ok",
            cached=0,
            offline=0,
        )
        conn.execute(
            f"INSERT INTO exchanges ({', '.join(v1)}) VALUES ({', '.join('?' * len(v1))})", list(values.values())
        )
    run(ip, "%llama_config cache=on")
    result, cap = run(ip, "%%llama\nHi from last year")
    assert result.success and "An answer from the old log" in cap.outputs[0].data["text/plain"]
    assert online.count == 0
    with sqlite3.connect(tmp_path / "log.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert conn.execute("SELECT COUNT(*) FROM batch_runs").fetchone()[0] == 0
        assert "batch_run" in [r[1] for r in conn.execute("PRAGMA table_info(exchanges)")]
