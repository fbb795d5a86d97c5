"""Speed of ``--over`` and ``--stream`` through the real pipeline (magics -> session -> HTTP on loopback).

Prints, in one run:
- batch: 200 prompts, ``%%llama --over prompts -j 8`` against the offline endpoint with 100 ms of
  latency per request, run two ways: in another process (``dataoorts-magic serve``, like the real,
  remote endpoint) and in the kernel's process (as with DATAOORTS_OFFLINE=1, where server and client
  share one interpreter lock on two cores); the wall time of the cell and its ratio to the ideal
  200 x 0.1 / 8 = 2.5 s (target <= 1.05), the most requests the in-process server saw in flight at
  once, and the floor: the same 200 POSTs made with bare ``requests`` on 8 threads;
- streaming: an 8,000-token Markdown answer streamed one token per event, once paced at
  TOKENS_PER_S and once all at once; the time to the first rendered token, the number of display
  updates, the total time spent rendering and publishing them, and that total over the cost of
  rendering the final answer once (a constant factor means rendering stays linear).

- large batches (``batch_limits.py``): 200 items at ``-j 16`` against an endpoint that accepts 10
  requests in any second, with ``rate_limit=600`` and with no client-side cap (429 share, items
  failed, wall time against the 20 s ideal), and a resume after the kernel is SIGKILLed mid-way
  (requests re-sent).

The first two parts measure the pipeline itself, so they turn the client-side rate limit off
(``rate_limit=0``); the third is about that limit.

Run: python benchmarks/batch.py [ROUNDS]
"""

from __future__ import annotations

import functools
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ITEMS, LATENCY, JOBS = 200, 0.1, 8
STREAM_TOKENS, TOKENS_PER_S = 8000, 4000
IDEAL = ITEMS * LATENCY / JOBS


def markdown_tokens(n: int) -> list[str]:
    """``n`` token-sized pieces of a long Markdown answer (headings, prose, lists, tables, code)."""
    section = (
        "## Section {i}\n\nA histogram groups numbers into **bins** and shows how many fall in each; "
        "read the axes first, then the bin width, then the *shape* of the bars.\n\n"
        "- centre: where is the tallest bar?\n- spread: how wide is the range?\n"
        "- skew: which tail is longer?\n\n"
        "| shape | suggests |\n|---|---|\n| symmetric | mean near median |\n"
        "| right-skewed | mean above median |\n\n"
        "```python\nvalues = rng.normal(170, 8, size=500)\nplt.hist(values, bins={i})\nplt.show()\n```\n\n"
    )
    pieces: list[str] = []
    i = 0
    while len(pieces) < n:
        pieces += re.findall(r"\s*\S+", section.format(i=i))
        i += 1
    return pieces[:n]


class _Streamer(BaseHTTPRequestHandler):
    """Streams ``server.tokens`` as server-sent events, ``server.rate`` tokens per second (0 = all at once)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        tokens, rate = self.server.tokens, self.server.rate
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        started = time.perf_counter()
        events = [b"data: " + json.dumps({"response": t}).encode() + b"\n\n" for t in tokens]
        usage = {"prompt_tokens": 10, "completion_tokens": len(tokens), "total_tokens": 10 + len(tokens)}
        events += [b"data: " + json.dumps({"response": "", "usage": usage}).encode() + b"\n\n", b"data: [DONE]\n\n"]
        step = 100  # tokens per write when paced
        for k in range(0, len(events), step if rate else len(events)):
            if rate:
                delay = started + k / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            chunk = b"".join(events[k : k + (step if rate else len(events))])
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args):
        pass


def raw_floor(url: str) -> float:
    """The same 200 POSTs with bare requests on 8 threads: what the HTTP stack and endpoint cost alone."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=JOBS))
    headers = {"Authorization": "Bearer bench-key", "Content-Type": "application/json"}

    def post(i):
        body = {
            "model": "meta/llama-3.1-8b-instruct",
            "data": {
                "messages": [{"role": "user", "content": f"Summarize item number {i} in one line."}],
                "max_tokens": 512,
            },
        }
        return session.post(url, data=json.dumps(body), headers=headers, timeout=30).json()

    started = time.perf_counter()
    with ThreadPoolExecutor(JOBS) as pool:
        list(pool.map(post, range(ITEMS)))
    return time.perf_counter() - started


class _ServeProcess:
    """``dataoorts-magic serve`` in its own process, as a remote endpoint would be; it counts nothing here."""

    def __init__(self):
        import subprocess

        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dataoorts_magic.cli",
                "serve",
                "--port",
                "0",
                "--latency",
                str(LATENCY),
                "--api-key",
                "bench-key",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = re.search(r"http://127\.0\.0\.1:\d+/api/v1", self.proc.stdout.readline()).group(0)
        self.count, self.max_in_flight = None, "n/a (other process)"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def bench_batch(ip, rounds: int, where: str) -> list[float]:
    from IPython.utils.capture import capture_output

    from dataoorts_magic.offline.server import OfflineServer

    walls = []
    endpoint = _ServeProcess() if where == "process" else OfflineServer(api_key="bench-key", latency=LATENCY).start()
    with endpoint as server:
        os.environ.update(DATAOORTS_API_URL=server.url, DATAOORTS_API_KEY="bench-key")
        ip.user_ns["warm"] = [f"warm-up {i}" for i in range(JOBS)]
        with capture_output():
            ip.run_cell(f"%%llama --over warm -j {JOBS} -q -o _\nSay {{item}}")
        ip.user_ns["prompts"] = [f"Summarize item number {i} in one line." for i in range(ITEMS)]
        for _ in range(rounds):
            if where != "process":
                server.max_in_flight, before = 0, server.count
            with capture_output() as cap:
                started = time.perf_counter()
                result = ip.run_cell(f"%%llama --over prompts -j {JOBS} -o out\n{{item}}")
                wall = time.perf_counter() - started
            out = ip.user_ns["out"]
            assert result.success and len(out.errors) == 0 and len(out) == ITEMS, cap.stderr
            assert where == "process" or server.count - before == ITEMS
            walls.append(wall)
            floor = raw_floor(server.url)
            print(
                f"  {where:>9} endpoint: {ITEMS} prompts at -j {JOBS}, {LATENCY * 1000:.0f} ms latency: "
                f"wall {wall:.3f} s, "
                f"ratio to ideal {IDEAL:.1f} s = {wall / IDEAL:.3f}; max in flight {server.max_in_flight}; "
                f"bare requests floor {floor:.3f} s (ratio {floor / IDEAL:.3f})"
            )
    return walls


def bench_stream(ip, rate: int) -> dict:
    from IPython.utils.capture import capture_output

    from dataoorts_magic.display import render
    from dataoorts_magic.display.live_answer import LiveAnswer, watch

    tokens = markdown_tokens(STREAM_TOKENS)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Streamer)
    server.tokens, server.rate = tokens, rate
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["DATAOORTS_API_URL"] = f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    session = ip.magics_manager.registry["LlamaMagics"].llama_session
    flags = {"stream": True, "max_tokens": STREAM_TOKENS}
    render.to_html("warm *up*")  # a session that has shown one answer has its renderer built
    try:
        view = LiveAnswer("markdown")
        with capture_output():
            started = time.perf_counter()
            request = session.request("Explain histograms at length", flags)
            response = watch(functools.partial(session.send, request), view)
            view.finish(response)
            wall = time.perf_counter() - started
        assert response.text == "".join(tokens) and response.usage.completion_tokens == STREAM_TOKENS
        once = min(_timed(render.to_html, response.text) for _ in range(3))
    finally:
        server.shutdown()
        server.server_close()
    return {
        "first": view.first_shown - started,
        "updates": view.updates,
        "render": view.render_seconds,
        "once": once,
        "wall": wall,
        "chars": len(response.text),
    }


def _timed(fn, *args) -> float:
    began = time.perf_counter()
    fn(*args)
    return time.perf_counter() - began


def main(rounds: int = 3) -> None:
    home = tempfile.mkdtemp(prefix="dataoorts-bench-")
    os.environ["DATAOORTS_MAGIC_HOME"] = home  # a fresh log (logging stays on, as for a user)
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "dataoorts_magic")
    ip.run_line_magic("llama_config", "rate_limit=0")  # the pipeline's own speed, not the rate limit's

    print(f"Batch (ideal {ITEMS} x {LATENCY} / {JOBS} = {IDEAL:.1f} s, target ratio <= 1.05):")
    for where in ("process", "in-kernel"):
        walls = bench_batch(ip, rounds, where)
        best, median = min(walls), statistics.median(walls)
        print(
            f"  {where:>9} endpoint: median wall {median:.3f} s (ratio {median / IDEAL:.3f}); "
            f"best {best:.3f} s (ratio {best / IDEAL:.3f})"
        )

    print(f"Streaming an {STREAM_TOKENS:,}-token answer, one token per event:")
    for label, rate in ((f"paced at {TOKENS_PER_S:,} tokens/s", TOKENS_PER_S), ("all at once", 0)):
        s = bench_stream(ip, rate)
        print(
            f"  {label}: {s['chars']:,} characters in {s['wall']:.2f} s; first rendered token after "
            f"{s['first'] * 1000:.1f} ms; {s['updates']} display updates costing {s['render'] * 1000:.0f} ms "
            f"in total = {s['render'] / s['once']:.1f} x one render of the final answer "
            f"({s['once'] * 1000:.0f} ms)"
        )

    import batch_limits

    batch_limits.main(ip)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
