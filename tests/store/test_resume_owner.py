"""Issue 19, failure 10: a batch in progress in another live process is not resumed from blindly.

Two kernels sharing ``DATAOORTS_MAGIC_HOME`` started the same 60-item batch 1 s apart: the second
resumed the first's answers so far and sent again the 40 the first was sending (100 requests for
60 items). Here a real second process runs the batch against the held endpoint; while it is in
progress the same cell here says in one line that another kernel is running it, and sends nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from support.shell import KEY, fails_in_one_line, frames_holding, run, verbose_tracebacks

from dataoorts_magic.store.resume import BatchRunningError

OTHER_KERNEL = textwrap.dedent(
    """
    from IPython.core.interactiveshell import InteractiveShell
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "dataoorts_magic")
    ip.run_line_magic("llama_config", "rate_limit=0")
    ip.user_ns["xs"] = [f"row {i}" for i in range(60)]
    ip.run_cell("%%llama --over xs -j 4 -q -o out\\nLabel {item}")
    print("answered", len(ip.user_ns["out"].responses), flush=True)
    """
)


def until(condition, limit=60.0, what="condition"):
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"{what} not reached"
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def no_client_cap(ip):
    run(ip, "%llama_config rate_limit=0")


def test_failure_10_a_batch_another_kernel_is_running_is_not_sent_again(ip, endpoint_held):
    from dataoorts_magic import ask_each

    endpoint_held.reset(answer_first=0)  # hold every request
    other = subprocess.Popen([sys.executable, "-c", OTHER_KERNEL], env=dict(os.environ), stdout=subprocess.PIPE)
    try:
        until(lambda: endpoint_held.requests >= 4, what="the other kernel's first requests")
        ip.user_ns["xs"] = [f"row {i}" for i in range(60)]
        line = fails_in_one_line(ip, "%%llama --over xs -j 4 -q -o out\nLabel {item}")
        assert "Another kernel" in line and f"process {other.pid}" in line and "nothing was sent" in line
        with verbose_tracebacks(ip), pytest.raises(BatchRunningError) as info:
            ask_each([f"row {i}" for i in range(60)], "Label {item}")
        assert frames_holding(info.value, KEY) == []
        assert endpoint_held.requests == 4  # only the other kernel's
        endpoint_held.release()
        out, _ = other.communicate(timeout=120)
    finally:
        endpoint_held.release()
        if other.poll() is None:
            other.kill()
            other.wait()
    assert out.decode().strip().splitlines()[-1] == "answered 60"
    assert endpoint_held.requests == 60  # was 100 for 60 items
    result, cap = run(ip, "%%llama --over xs -j 4 -q -o again\nLabel {item}")  # it ended: this one runs
    assert result.success, cap.stderr


def test_failure_10_the_same_batch_running_in_the_background_here_is_named(ip, endpoint_held):
    endpoint_held.reset(answer_first=0)
    ip.user_ns["xs"] = [f"row {i}" for i in range(6)]
    result, cap = run(ip, "%%llama --over xs -b -j 2 -o A\nLabel {item}")
    assert result.success, cap.stderr
    until(lambda: endpoint_held.requests >= 2, what="the background run's first requests")
    line = fails_in_one_line(ip, "%%llama --over xs -j 2 -q -o B\nLabel {item}")
    assert "already running in this kernel" in line and ".cancel()" in line
    endpoint_held.release()
    assert ip.user_ns["A"].wait(60).done and len(ip.user_ns["A"].responses) == 6
    assert endpoint_held.requests == 6


def test_a_run_left_running_by_a_dead_process_is_resumed(ip, online, magics, tmp_path):
    import sqlite3

    ip.user_ns["xs"] = ["a", "b", "c"]
    result, cap = run(ip, "%%llama --over xs -q -o first\nLabel {item}")
    assert result.success, cap.stderr
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with sqlite3.connect(tmp_path / "log.sqlite3") as conn:  # as if that process was killed mid-run
        conn.execute(
            "UPDATE batch_runs SET status = 'running', owner = ? WHERE id = (SELECT MAX(id) FROM batch_runs)",
            (f"{os.uname().nodename}|{dead.stdout.strip()}|",),
        )
    count = online.count
    result, cap = run(ip, "%%llama --over xs -q -o again\nLabel {item}")
    assert result.success, cap.stderr
    assert ip.user_ns["again"].resumed == 3 and online.count == count
