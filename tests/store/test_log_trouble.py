"""Issue 19, failures 9 and 12: a log another process holds locked, and a log on a full disk.

9: a real second process holds ``BEGIN EXCLUSIVE`` on the log; each request used to wait out the
10 s busy timeout. Now the first lock failure makes one note and the log is skipped for a while.
12: a full disk, simulated honestly without root mounts: a kernel process whose files may not grow
past 2 KB (``RLIMIT_FSIZE``, SIGXFSZ ignored, so writes fail with EFBIG as on a full disk). (On a real
full tmpfs SQLite says "database or disk is full"; the note then starts "the disk is full".)
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest
from support.shell import KEY, everything_shown, run, verbose_tracebacks

SLACK = 15.0
LOCKER = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "c.execute('BEGIN EXCLUSIVE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.fixture
def locked_log(ip, online, tmp_path):
    """The log exists (one answer logged), then another process holds it locked until the test ends."""
    result, cap = run(ip, "%%llama -q -o first\nFirst")
    assert result.success, cap.stderr
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(tmp_path / "log.sqlite3")], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert locker.stdout.readline() == b"locked\n"
        yield
    finally:
        locker.stdin.close()
        locker.wait(timeout=30)


def test_failure_9_a_locked_log_is_noted_once_and_skipped_not_waited_on(ip, online, magics, locked_log):
    with verbose_tracebacks(ip):
        started = time.monotonic()
        result, cap = run(ip, "%%llama -q -o r\nHello")
        assert result.success, cap.stderr
        assert "locked by another process" in cap.stderr and "skipped" in cap.stderr
        assert cap.stderr.count("Note:") == 1
        ip.user_ns["xs"] = [f"item {i}" for i in range(10)]
        batch_started = time.monotonic()
        result, batch = run(ip, "%%llama --over xs -j 4 -q -o B\nSay {item}")
        batch_took = time.monotonic() - batch_started
    assert result.success, batch.stderr
    assert len(ip.user_ns["B"].responses) == 10
    assert "Note:" not in batch.stderr  # said once
    assert batch_took < 10.0, batch_took  # it was 40.2 s: every request waited 10 s for the lock
    assert time.monotonic() - started < 10.0 + SLACK
    assert KEY not in everything_shown(cap) + everything_shown(batch)


def test_failure_9_the_python_api_is_not_held_either(ip, online, locked_log):
    from dataoorts_magic import ask_each

    started = time.monotonic()
    out = ask_each([f"x{i}" for i in range(10)], "Say {item}", concurrency=1)
    assert len(out.responses) == 10 and time.monotonic() - started < 10.0  # at -j 1 it was 100 s


FULL_DISK_KERNEL = textwrap.dedent(
    """
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "dataoorts_magic")
    with capture_output() as cap:
        ip.run_line_magic("xmode", "Verbose")
        ok = ip.run_cell("%llama_config --offline").success and ip.run_cell("%%llama -q -o r\\nHello").success
    print("success" if ok else "failed")
    print(cap.stderr)
    """
)


def test_failure_12_a_full_disk_is_named_as_the_cause(tmp_path):
    env = {"DATAOORTS_MAGIC_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no .pyc cut short at 2 KB for the next run
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK_KERNEL], env=env, capture_output=True, text=True, timeout=120
    )
    out = done.stdout
    assert out.startswith("success"), done.stdout + done.stderr  # the answer is still shown
    assert "cannot rollback" not in out
    assert "disk may be full" in out and "disk I/O error" in out, out
    assert out.count("Note:") == 1
