"""Large batches against a rate-limited endpoint, and a resume after the kernel is killed.

Part of ``benchmarks/batch.py`` (which calls :func:`main`); runs alone too. Prints:

- burst: 8 items of 0.3 s each at ``-j 4`` under the default ``rate_limit=300`` (5 starts in any
  second, a burst starting at once): goal at most 1.4 s (the old even spacing took 1.9 s).
- offline: a 50-row batch on the bundled offline endpoint, which the client does not pace:
  goal at most 2 s (paced, it took 10-12 s).
- rate limit: 200 items, ``%%llama --over rows -j 16``, against a loopback endpoint that accepts
  10 requests in any one-second window (100 ms per answer) and refuses the rest with 429 / code
  3040 / Retry-After 1, the way the platform answers a burst. Once with ``rate_limit=600`` (10 a
  second: goal 0 items failed, at most 2 % of requests refused, within 1.1x of the 20 s ideal) and
  once with no client-side cap (``rate_limit=0``: goal 0 failed, within 2x of the ideal). Figures:
  requests sent, 429 share, items failed, wall time and its ratio to the ideal.
- resume: the same 200 items (no window) in a child process, SIGKILLed once about half the
  answers are in the log; then the cell is run again in a new process. Figures: answers the log
  had, requests the second run sent, and how many of them had been sent before (in flight or not
  yet logged at the kill): the requests re-sent.

Run: python benchmarks/batch_limits.py [--no-resume]
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.window_server import WindowServer  # noqa: E402 - the tests' own per-second-window endpoint

ITEMS, JOBS, PER_SECOND, LATENCY = 200, 16, 10, 0.1
IDEAL = ITEMS / PER_SECOND
KEY = "bench-key"

CHILD = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell

ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "dataoorts_magic")
session = ip.magics_manager.registry["LlamaMagics"].llama_session
session.configure({"rate_limit": 0})  # the endpoint has no window here: this is about resuming
ip.user_ns["rows"] = [f"row {i:03d}" for i in range(int(sys.argv[1]))]
result = ip.run_cell("%%llama --over rows -j 8 -q -o out\\nLabel {item}")
out = ip.user_ns["out"]
print(json.dumps({"ok": result.success, "texts": out.texts, "resumed": out.resumed, "sent": out.sent}))
"""


def rate_limited(ip, limit: int) -> dict:
    from IPython.utils.capture import capture_output

    with closing(WindowServer(per_second=PER_SECOND, latency=LATENCY)) as server:
        os.environ.update(DATAOORTS_API_URL=server.url, DATAOORTS_API_KEY=KEY)
        ip.user_ns["rows"] = [f"row {i:03d}" for i in range(ITEMS)]
        with capture_output():
            ip.run_line_magic("llama_config", f"rate_limit={limit}")
            started = time.perf_counter()
            result = ip.run_cell(f"%%llama --over rows -j {JOBS} -q --no-cache -o out\n{{item}}")
            wall = time.perf_counter() - started
        out = ip.user_ns["out"]
        in_order = out.texts == [f"Answer to: row {i:03d}" for i in range(ITEMS)]
        return {
            "ok": result.success and in_order,
            "requests": server.requests,
            "refused": server.refused,
            "failed": len(out.errors),
            "wall": wall,
        }


def burst(ip, items: int = 8, latency: float = 0.3, jobs: int = 4) -> dict:
    """``items`` answers of ``latency`` s each at ``-j jobs`` under the default rate limit (300/min).

    A one-item batch first builds what a session builds once (client, log, display), and the
    limiter's window is then let go by, so the figure is the batch's own."""
    from IPython.utils.capture import capture_output

    with closing(WindowServer(per_second=None, latency=latency)) as server:
        os.environ.update(DATAOORTS_API_URL=server.url, DATAOORTS_API_KEY=KEY)
        ip.user_ns["rows"] = [f"row {i:03d}" for i in range(items)]
        ip.user_ns["warm"] = ["warm up"]
        with capture_output():
            ip.run_line_magic("llama_config", "--reset")
            ip.run_line_magic("llama_config", "rate_limit=300")
            ip.run_cell(f"%%llama --over warm -j {jobs} -q --no-cache -o out\n{{item}}")
            time.sleep(1.1)  # the warm-up's start leaves the one-second window
            started = time.perf_counter()
            result = ip.run_cell(f"%%llama --over rows -j {jobs} -q --no-cache -o out\n{{item}}")
            wall = time.perf_counter() - started
        return {"ok": result.success and not ip.user_ns["out"].errors, "wall": wall}


def offline_batch(ip, rows: int = 50) -> dict:
    """A ``rows``-row DataFrame batch on the bundled offline endpoint (default -j and rate limit)."""
    import pandas as pd
    from IPython.utils.capture import capture_output

    ip.user_ns["frame"] = pd.DataFrame({"title": [f"title {i}" for i in range(rows)], "year": range(rows)})
    with capture_output():
        ip.run_line_magic("llama_config", "--reset")
        ip.run_line_magic("llama_config", "--offline")
        started = time.perf_counter()
        result = ip.run_cell("%%llama --over frame -q --no-cache -o out\nSummarize {title} ({year})")
        wall = time.perf_counter() - started
        ip.run_line_magic("llama_config", "--reset")
    return {"ok": result.success and not ip.user_ns["out"].errors, "wall": wall}


def _logged(home: Path) -> int:
    try:
        with sqlite3.connect(home / "log.sqlite3", timeout=10) as conn:
            return conn.execute("SELECT COUNT(*) FROM exchanges WHERE status = 'ok'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def resume_after_kill() -> dict:
    home = Path(tempfile.mkdtemp(prefix="dataoorts-resume-"))
    with closing(WindowServer(per_second=None, latency=LATENCY)) as server:
        env = {
            **os.environ,
            "DATAOORTS_API_URL": server.url,
            "DATAOORTS_API_KEY": KEY,
            "DATAOORTS_MAGIC_HOME": str(home),
        }
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(ITEMS)], env=env, stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while _logged(home) < ITEMS // 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        logged, first = _logged(home), server.prompts()
        server.reset()
        started = time.perf_counter()
        again = subprocess.run([sys.executable, "-c", CHILD, str(ITEMS)], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        report = json.loads(again.stdout.splitlines()[-1])
        second = server.prompts()
    complete = report["texts"] == [f"Answer to: Label row {i:03d}" for i in range(ITEMS)]
    return {
        "ok": report["ok"] and complete,
        "first": len(first),
        "logged": logged,
        "second": len(second),
        "resent": len(set(second) & set(first)),
        "resumed": report["resumed"],
        "wall": wall,
    }


def main(ip=None, resume: bool = True) -> None:
    if ip is None:
        os.environ["DATAOORTS_MAGIC_HOME"] = tempfile.mkdtemp(prefix="dataoorts-bench-")
        from IPython.core.interactiveshell import InteractiveShell

        ip = InteractiveShell.instance()
        ip.run_line_magic("load_ext", "dataoorts_magic")
    b = burst(ip)
    print(f"Burst: 8 items x 0.3 s at -j 4, rate_limit=300: {b['wall']:.2f} s, ok: {b['ok']} (goal: <= 1.4 s)")
    o = offline_batch(ip)
    print(f"Offline: 50 rows on the bundled endpoint: {o['wall']:.2f} s, ok: {o['ok']} (goal: <= 2 s)")
    print(
        f"Rate limit: {ITEMS} items at -j {JOBS} against {PER_SECOND} requests in any second "
        f"({LATENCY * 1000:.0f} ms per answer); ideal {IDEAL:.0f} s:"
    )
    for limit, goal in ((600, "goal: 0 failed, <= 2 % refused, <= 1.1x"), (0, "goal: 0 failed, <= 2x")):
        r = rate_limited(ip, limit)
        print(
            f"  rate_limit={limit:<3} {r['requests']} requests, {r['refused']} refused with 429 "
            f"({r['refused'] / r['requests']:.1%}), {r['failed']} items failed, answers complete and in order: "
            f"{r['ok']}; wall {r['wall']:.1f} s = {r['wall'] / IDEAL:.2f}x the ideal ({goal})"
        )
    if not resume:
        return
    r = resume_after_kill()
    print(
        f"Resume after SIGKILL: {ITEMS} items at -j 8; the first run sent {r['first']} requests and was killed with "
        f"{r['logged']} answers logged; the second run resumed {r['resumed']} and sent {r['second']} "
        f"({r['resent']} of them sent before: in flight or not yet logged at the kill), in {r['wall']:.1f} s; "
        f"every answer, in order: {r['ok']}"
    )


if __name__ == "__main__":
    main(resume="--no-resume" not in sys.argv)
