"""What the hardening of issue 12 costs and saves: the caps, the linear stream parser, big batches.

Prints, in one run (each figure is one measurement on this machine; nothing here is asserted):
- a 2 MB gzip bomb that inflates to 2 GiB, as a whole answer and as a stream: seconds until the
  one-line failure, and the peak of Python memory (tracemalloc) meanwhile;
- a 50 MB answer, and a stream with one 50 MB event, through the client: seconds and peak;
- the event-stream parser alone on one 16 MB and one 50 MB event (no cap): seconds;
- preparing 100,000 ``--over`` items (a list with {item}, a DataFrame with {item}, a DataFrame with
  {column} fields): seconds, then the Python memory the prepared batch keeps (a second run, traced).

Run: python benchmarks/hardening.py
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.scripted_server import Answer, ScriptedServer, gzip_bomb  # noqa: E402

from dataoorts_magic import errors  # noqa: E402
from dataoorts_magic.client.chat_client import DataoortsClient  # noqa: E402
from dataoorts_magic.client.sse import TextStream  # noqa: E402

MB = 1_000_000


def traced(fn):
    """(seconds, peak traced MB, result) of ``fn()``."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = fn()
    finally:
        took = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return took, peak / MB, result


def client_answers():
    bomb = gzip_bomb()
    event = b"data: " + json.dumps({"response": "y" * (50 * MB)}).encode() + b"\n\n"
    big = json.dumps({"success": True, "result": {"response": "x" * (50 * MB)}}).encode()
    cases = [
        (
            f"gzip bomb ({len(bomb) / MB:.1f} MB -> 2 GiB), body",
            Answer(200, bomb, headers={"Content-Encoding": "gzip"}),
            False,
        ),
        (
            "gzip bomb, stream",
            Answer(200, bomb, "text/event-stream", headers={"Content-Encoding": "gzip"}),
            True,
        ),
        ("50 MB answer", Answer(200, big), False),
        ("stream with one 50 MB event", Answer(200, event, "text/event-stream"), True),
    ]
    with ScriptedServer() as server, DataoortsClient(server.url) as client:
        for name, reply, stream in cases:
            server.script(reply)

            def ask(stream=stream):
                try:
                    hi = [{"role": "user", "content": "Hi"}]
                    client.exchange_once("m", hi, {}, api_key="sk-bench", stream=stream)
                except errors.LlamaError as err:
                    return str(err).split(";")[0]
                return "answered (not capped!)"

            took, peak, line = traced(ask)
            print(f"{name:42} {took:6.3f} s  peak {peak:5.1f} MB  -> {line}")


def parser_alone():
    for size in (16, 50):
        body = b"data: " + json.dumps({"response": "z" * (size * MB)}).encode() + b"\n\ndata: [DONE]\n\n"
        stream = TextStream()
        started = time.perf_counter()
        for i in range(0, len(body), 65536):
            stream.feed(body[i : i + 65536])
        print(f"event-stream parser, one {size} MB event   {time.perf_counter() - started:6.2f} s (64 KiB pieces)")


def prepare_100k():
    import pandas as pd
    from IPython.core.interactiveshell import InteractiveShell

    from dataoorts_magic.batch import over

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "dataoorts_magic")
    session = ip.magics_manager.registry["LlamaMagics"].llama_session
    n = 100_000
    frame = pd.DataFrame({"title": [f"title {i}" for i in range(n)], "year": range(n)})
    cases = [
        ("list, {item}", [f"title {i}" for i in range(n)], "Summarize {item}"),
        ("DataFrame, {item}", frame, "Summarize {item}"),
        ("DataFrame, {title} {year}", frame, "Review {title} from {year}"),
    ]
    for name, value, prompt in cases:
        ip.user_ns["xs"] = value
        started = time.perf_counter()
        over.prepare(session, prompt, {}, "xs", ip.user_ns)
        took = time.perf_counter() - started
        tracemalloc.start()
        batch = over.prepare(session, prompt, {}, "xs", ip.user_ns)
        kept = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        print(f"prepare 100,000 items: {name:27} {took:5.2f} s, keeps {kept / MB:5.1f} MB ({kept / n:,.0f} B/item)")
        del batch


if __name__ == "__main__":
    client_answers()
    parser_alone()
    prepare_100k()
