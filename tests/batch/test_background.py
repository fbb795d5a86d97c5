"""``-b/--background``: the cell returns at once, other cells run, the result fills in, cancel stops sending.

The endpoint holds every request until the test lets it go, so "returns at once" and "another
cell runs meanwhile" are facts, not races. The last test runs a real kernel (nbclient): the
progress and the final table reach the batch's own output by display id, never another cell's.
"""

from __future__ import annotations

import time

import nbformat
import pytest
from nbclient import NotebookClient
from support.shell import run

from dataoorts_magic.batch.result import BatchResult
from dataoorts_magic.errors import MissingKeyError


@pytest.fixture(autouse=True)
def no_client_cap(ip):
    run(ip, "%llama_config rate_limit=0")  # what is tested here is the background run, not the pacing


def until(condition, limit=30.0, what="condition"):
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"{what} not reached"
        time.sleep(0.01)


def test_the_cell_returns_at_once_another_runs_and_wait_gives_every_answer_in_order(ip, endpoint_held):
    endpoint_held.reset(answer_first=0)  # hold every request
    rows = [f"row {i}" for i in range(6)]
    ip.user_ns["rows"] = rows
    result, cap = run(ip, "%%llama --over rows -b -j 2 -o out\nLabel {item}")
    assert result.success, cap.stderr
    out = ip.user_ns["out"]
    assert isinstance(out, BatchResult) and not out.done and out.texts == [None] * 6  # bound before any answer
    assert "in the background" in cap.stdout and "out.wait()" in cap.stdout  # no live display here: said so
    assert "running: 0 of 6 done" in repr(out)
    other, shown = run(ip, "x = 21 * 2\nprint(x)")
    assert other.success and shown.stdout == "42\n" and shown.stderr == "" and shown.outputs == []
    endpoint_held.release()
    assert out.wait(timeout=60) is out and out.done
    assert out.texts == [f"Answer to: Label {row}" for row in rows] and out.errors == {}
    assert "6 requests" in repr(out) and "running" not in repr(out)


def test_wait_with_a_timeout_says_the_batch_is_still_running(ip, endpoint_held):
    endpoint_held.reset(answer_first=0)
    ip.user_ns["rows"] = ["a", "b"]
    run(ip, "%%llama --over rows -b -q -o out\nLabel {item}")
    out = ip.user_ns["out"]
    with pytest.raises(TimeoutError, match=r"still running \(0 of 2 done\)"):
        out.wait(timeout=0.2)
    endpoint_held.release()
    assert out.wait(60).texts == ["Answer to: Label a", "Answer to: Label b"]


def test_cancel_stops_sending_keeps_what_finished_and_a_rerun_sends_only_the_rest(ip, endpoint_held):
    endpoint_held.reset(answer_first=3)
    rows = [f"row {i}" for i in range(10)]
    ip.user_ns["rows"] = rows
    result, _ = run(ip, "%%llama --over rows -b -j 1 -q -o out\nLabel {item}")
    assert result.success
    out = ip.user_ns["out"]
    until(lambda: endpoint_held.requests == 4, what="the fourth request in flight")
    out.cancel()
    endpoint_held.release()  # the one in flight is answered, and kept
    out.wait(60)
    assert endpoint_held.requests == 4  # nothing was sent after cancel()
    assert out.texts[:4] == [f"Answer to: Label {row}" for row in rows[:4]] and out.texts[4:] == [None] * 6
    assert out.cancelled and "cancelled after 4 of 10" in repr(out)
    assert all("Not sent: the run was cancelled" in out.errors[i] for i in range(4, 10))
    endpoint_held.reset()  # the log has the four: running the cell again sends the six others only
    result, _ = run(ip, "%%llama --over rows -j 2 -q -o again\nLabel {item}")
    assert result.success and sorted(endpoint_held.prompts()) == [f"Label {row}" for row in rows[4:]]
    assert ip.user_ns["again"].texts == [f"Answer to: Label {row}" for row in rows]


def test_a_whole_batch_error_is_kept_in_error(ip, endpoint_held, monkeypatch):
    monkeypatch.delenv("DATAOORTS_API_KEY")
    ip.user_ns["rows"] = ["a", "b", "c"]
    result, _ = run(ip, "%%llama --over rows -b -q -o out\nLabel {item}")
    assert result.success  # the cell returned before anything was tried
    out = ip.user_ns["out"]
    out.wait(60)
    assert isinstance(out.error, MissingKeyError) and "No Dataoorts API key" in str(out.error)
    assert endpoint_held.requests == 0 and "stopped after 1 of 3" in repr(out)


def test_compare_in_the_background(ip, endpoint_held):
    result, _ = run(ip, "%%llama --compare temperature=0,1 -b -q -o cmp\nHi")
    assert result.success
    cmp = ip.user_ns["cmp"].wait(60)
    assert cmp.labels == ["temperature=0", "temperature=1"] and cmp.texts == ["Answer to: Hi"] * 2


@pytest.mark.parametrize(
    "cell, words",
    [
        ("%%llama --over rows -b\nLabel {item}", "add -o VAR"),
        ("%%llama -b -o out\nHello", "this cell sends one request: drop -b"),
        ("%%llama --over missing -b -o out\nLabel {item}", "no variable missing"),
    ],
)
def test_bad_input_fails_in_the_cell_and_nothing_is_sent(ip, endpoint_held, cell, words):
    ip.user_ns["rows"] = ["a"]
    ip.user_ns.pop("missing", None)
    result, _ = run(ip, cell)
    assert not result.success and words in str(result.error_in_exec) and endpoint_held.requests == 0


@pytest.mark.slow
def test_in_a_kernel_the_display_is_updated_by_id_and_never_another_cell(endpoint_held, monkeypatch, tmp_path):
    monkeypatch.setenv("DATAOORTS_MAGIC_HOME", str(tmp_path))  # the kernel inherits the environment
    endpoint_held.reset(answer_first=0)
    cells = [
        "%load_ext dataoorts_magic\n%llama_config rate_limit=0\nrows = [f'row {i}' for i in range(5)]",
        "%%llama --over rows -b -j 2 -o out\nLabel {item}",
        "print('another cell')",
        "out.wait(60)\nprint(out.done)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    with client.setup_kernel():
        for index in range(3):
            client.execute_cell(nb.cells[index], index)
        progress = nb.cells[1].outputs
        assert [o["output_type"] for o in progress] == ["display_data"]  # the live progress, nothing printed
        assert "running in the background" in progress[0]["data"]["text/plain"]
        # Kernel > Interrupt does not stop it: the line says what does (INTERFACE 5)
        assert "running in the background: out.cancel() stops it" in progress[0]["data"]["text/plain"]
        assert "<progress value='0' max='5' aria-label='llama: 0 of 5 done'" in progress[0]["data"]["text/html"]
        other = nb.cells[2].outputs  # what its own print wrote, and nothing else (a display update flushes
        # stdout on its way, which may cut the text in two stream messages: a front end shows them as one)
        assert {(o["output_type"], o.get("name")) for o in other} == {("stream", "stdout")}
        assert "".join(o["text"] for o in other) == "another cell\n"
        endpoint_held.release()
        client.execute_cell(nb.cells[3], 3)
    assert [o.get("text") for o in nb.cells[3].outputs] == ["True\n"]
    final = nb.cells[1].outputs  # the same display, now the usual table and totals
    assert len(final) == 1 and "5 requests" in final[0]["data"]["text/plain"]
    assert "Answer to: Label row 4" in final[0]["data"]["text/plain"]
    assert "dataoorts-batch" in final[0]["data"]["text/html"] and "batch" in final[0]["metadata"]["dataoorts_magic"]
