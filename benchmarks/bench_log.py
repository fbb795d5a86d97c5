"""What the exchange log costs with 100,000 exchanges in it.

Builds a log of N exchanges (default 100,000: three models, prompts of a few hundred
characters, answers of about 1.5 KB, 10% cache hits, 2% failures) in a temporary folder,
then prints, for that log:
- ``%llama_usage`` run through a real InteractiveShell (median of repeats, and the first run);
- a cache lookup: the cache key of a request plus the indexed query, for a hit and a miss;
- the cost logging adds to a call: ``ExchangeLog.record`` of one realistic exchange (median and p99);
- the file's size (the folder is removed afterwards).
Targets (issue #4): usage and lookup under 50 ms each, logging under 1 ms per call.

Run: python benchmarks/bench_log.py [N]
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

MODELS = ("meta/llama-3.1-8b-instruct", "meta/llama-3.1-70b-instruct", "mistral/mistral-7b-instruct-v0.1")
WORDS = [
    "mean",
    "median",
    "variance",
    "histogram",
    "sample",
    "estimate",
    "outlier",
    "regression",
    "residual",
    "bias",
    "bootstrap",
    "prior",
    "posterior",
    "likelihood",
    "gradient",
    "tensor",
    "notebook",
    "kernel",
    "cell",
    "answer",
]


def text(rng: random.Random, chars: int) -> str:
    out, size = [], 0
    while size < chars:
        word = rng.choice(WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)


def build(path: Path, n: int) -> tuple[dict, int]:
    """Fill the log with n exchanges; returns one recorded request (for a cache hit) and the build time."""
    from dataoorts_magic.params import cost
    from dataoorts_magic.store.log import ExchangeLog, cache_key
    from dataoorts_magic.store.migrations import COLUMNS

    rng = random.Random(4)
    log = ExchangeLog(path)
    conn = log._connect()  # the benchmark fills the table in bulk; the package writes row by row
    start, rows, probe = time.perf_counter(), [], None
    now = time.time() - n
    for i in range(n):
        model = MODELS[i % 3]
        messages = [
            {"role": "system", "content": "You are a patient statistics teacher."},
            {"role": "user", "content": f"({i}) " + text(rng, rng.randint(100, 500))},
        ]
        params = {"max_tokens": 512, "temperature": rng.choice((0.2, 0.6, 1.0))}
        p, c = rng.randint(40, 200), rng.randint(100, 512)
        failed, cached = rng.random() < 0.02, rng.random() < 0.10
        rows.append(
            (
                now + i,
                "bench",
                None if i % 4 else "tutor",
                model,
                json.dumps(messages),
                json.dumps(params),
                cache_key(model, messages, params),
                None if failed else text(rng, 1500),
                None if failed else p,
                None if failed else c,
                None if failed else p + c,
                None if failed else (0.0 if cached else cost(model, p, c)),
                rng.uniform(0.3, 3.0),
                "error" if failed else "ok",
                "RateLimitError: slow down" if failed else None,
                int(cached and not failed),
                0,
                None,  # batch_run
            )
        )
        if i == n // 2 and not failed:
            probe = {"model": model, "messages": messages, "params": params}
        if len(rows) == 10_000:
            conn.executemany(
                f"INSERT INTO exchanges ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", rows
            )
            rows.clear()
    if rows:
        conn.executemany(f"INSERT INTO exchanges ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", rows)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    log.close()
    return probe, time.perf_counter() - start


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main(n: int = 100_000) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-log-"))
    os.environ["DATAOORTS_MAGIC_HOME"] = str(folder)
    path = folder / "log.sqlite3"
    probe, seconds = build(path, n)
    print(f"log: {n:,} exchanges, {path.stat().st_size / 1e6:.0f} MB, built in {seconds:.1f} s ({path})")

    from IPython.core.interactiveshell import InteractiveShell

    from dataoorts_magic.display.response import Usage
    from dataoorts_magic.store.log import ExchangeLog, cache_key

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "dataoorts_magic")
    first = timed(lambda: ip.run_line_magic("llama_usage", ""), 1)[0]
    usage = timed(lambda: ip.run_line_magic("llama_usage", ""), 30)
    table = ip.run_line_magic("llama_usage", "")
    assert sum(int(r[2].replace(",", "")) for r in table.rows if r[0] == "all time" and r[1] != "total") == n

    log = ExchangeLog(path)
    hit = timed(lambda: log.lookup(cache_key(**probe)), 200)
    assert log.lookup(cache_key(**probe)) is not None
    missing = dict(probe, messages=[{"role": "user", "content": "never asked"}])
    miss = timed(lambda: log.lookup(cache_key(**missing)), 200)
    assert log.lookup(cache_key(**missing)) is None

    rng = random.Random(7)
    messages = [
        {"role": "system", "content": "You are a patient statistics teacher."},
        {"role": "user", "content": text(rng, 300)},
    ]
    answer = text(rng, 1500)
    record = timed(
        lambda: log.record(
            model=MODELS[0],
            messages=messages,
            params={"max_tokens": 512},
            answer=answer,
            usage=Usage(80, 400, 480),
            cost=0.00004,
            elapsed=1.2,
            session="bench",
            secret="sk-not-a-real-key",
        ),
        1000,
    )
    ip.run_line_magic("unload_ext", "dataoorts_magic")

    def line(name, values, target):
        med, mean = statistics.median(values), statistics.fmean(values)
        p99 = sorted(values)[int(len(values) * 0.99) - 1]
        verdict = "ok" if med < target else "OVER TARGET"
        print(
            f"{name:<34} median {med:7.3f} ms   mean {mean:7.3f} ms   p99 {p99:7.3f} ms   "
            f"target < {target:g} ms: {verdict}"
        )

    print(f"{'%llama_usage (first run)':<34} {first:15.3f} ms")
    line("%llama_usage", usage, 50)
    line("cache lookup, hit (key + query)", hit, 50)
    line("cache lookup, miss (key + query)", miss, 50)
    line("logging one exchange (record)", record, 1)
    shutil.rmtree(folder)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
