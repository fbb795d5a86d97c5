"""What a %%llama cell costs on top of the HTTP round trip.

Prints, in one run:
- the time of ``%load_ext dataoorts_magic`` in a fresh process (median of several), and which heavy
  modules it imported;
- for a fixed ~2 KB Markdown answer from one loopback endpoint, interleaved over N calls each: the
  median of a raw ``requests`` POST of the same body, of one Markdown render + sanitize of the answer,
  and of the whole ``%%llama`` cell; the cell's overhead = cell - (POST + render), and where it goes
  (the rest of the display, IPython's display() and per-cell costs, the magic + pipeline + client);
- the bytes one answer adds to a saved notebook.

Run: python benchmarks/bench_cell.py [N]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = """# Reading a histogram

A histogram groups numbers into **bins** and shows how many fall in each. It answers three questions
at a glance: where the values *centre*, how widely they *spread*, and whether the shape is *skewed*.
Read the axis labels first, then the bin width, then the shape; a histogram with too few bins hides
structure and one with too many shows noise, so try two or three widths before you conclude.

- Look at the **centre**: where is the tallest bar?
- Look at the **spread**: how wide is the range of bars?
- Look for **skew**: is one tail longer than the other?
- Look for **gaps** and **outliers**: bars far from the rest.

| shape | what it suggests | example |
|---|---|---|
| symmetric | mean close to median | heights of adults |
| right-skewed | mean above median | incomes |
| bimodal | two groups mixed | waiting times at two counters |

```python
import numpy as np
import matplotlib.pyplot as plt

values = np.random.default_rng(0).normal(170, 8, size=500)
for bins in (5, 20, 80):
    plt.hist(values, bins=bins, alpha=0.5, label=f"{bins} bins")
plt.legend()
plt.xlabel("height (cm)")
plt.ylabel("count")
plt.show()
```

## Common mistakes

1. Comparing two histograms drawn with different bin widths or different axis ranges.
2. Reading the height of a bar as a probability when the bins are not of equal width.
3. Forgetting that the choice of the first bin edge can move a peak from one bar to the next.
4. Treating an empty bin as proof that no such values exist, when the sample was simply small.
5. Drawing a smooth curve over the bars and then reading the curve as if it were the data.

In short: read the axes, try a few bin widths, and describe centre, spread and shape in one sentence
each. Compare with a box plot when you want the median and quartiles at a glance, and remember that
the area of each bar, not only its height, carries the count when bins have different widths. With two
groups, overlay them with transparency or draw them side by side on the same axis range, never on axes
that start at different values.
"""
ENVELOPE = json.dumps(
    {
        "errors": [],
        "messages": [],
        "success": True,
        "result": {"response": ANSWER, "usage": {"prompt_tokens": 20, "completion_tokens": 480, "total_tokens": 500}},
    }
).encode()


class _Fixed(BaseHTTPRequestHandler):
    """Answers every POST with the same envelope, like a real server: keep-alive, no Nagle delay."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ENVELOPE)))
        self.end_headers()
        self.wfile.write(ENVELOPE)

    def log_message(self, *args):
        pass


LOAD_PROBE = """
import sys, time
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
before = set(sys.modules)
t = time.perf_counter()
ip.run_line_magic("load_ext", "dataoorts_magic")
took = time.perf_counter() - t
heavy = sorted(m for m in ("requests", "markdown_it", "nh3", "pygments.lexers", "ipywidgets", "pandas", "urllib3")
               if m in sys.modules and m not in before)
print(took, ",".join(heavy))
"""


def load_time(runs: int = 9):
    """Median over fresh processes, after one run that writes the bytecode a user's install has."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", LOAD_PROBE], capture_output=True, env=env, check=True)
    times, heavy = [], ""
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", LOAD_PROBE], capture_output=True, text=True, env=env, check=True)
        took, heavy = out.stdout.split(" ", 1)
        times.append(float(took))
    return statistics.median(times), heavy.strip()


def notebook_bytes(response) -> int:
    """The bytes its display adds to a notebook saved as Jupyter saves it (nbformat, one-space indent)."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%%llama\nExplain histograms")])
    empty = len(nbformat.writes(nb).encode())
    data, metadata = response._repr_mimebundle_()
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data=data, metadata=metadata)]
    return len(nbformat.writes(nb).encode()) - empty


def main(n: int = 150):
    load, heavy = load_time()
    print(
        f"%load_ext dataoorts_magic (fresh process): median {load * 1000:.1f} ms; "
        f"heavy modules imported: {heavy or 'none'}"
    )

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fixed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    os.environ.update(DATAOORTS_API_URL=url, DATAOORTS_API_KEY="bench-key", DATAOORTS_MAGIC_LOG="0")

    import requests
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    from dataoorts_magic.display import render
    from dataoorts_magic.display.response import LlamaResponse, Usage

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "dataoorts_magic")
    ip.run_line_magic("llama_config", "rate_limit=0")  # per-call overhead, not the session's 300 a minute
    body = {
        "model": "meta/llama-3.1-8b-instruct",
        "data": {"messages": [{"role": "user", "content": "Explain histograms"}], "max_tokens": 512},
    }
    raw = requests.Session()
    headers = {"Authorization": "Bearer bench-key", "Content-Type": "application/json"}
    response = LlamaResponse(ANSWER, body["model"], {"max_tokens": 512}, body["data"]["messages"], Usage(20, 480, 500))

    def post():
        raw.post(url, data=json.dumps(body), headers=headers, timeout=10).json()

    def render_once():
        render.to_html(ANSWER)

    def cell():
        with capture_output():
            result = ip.run_cell("%%llama\nExplain histograms")
        assert result.success

    def empty_cell():  # what IPython itself costs per cell, with output captured the same way
        with capture_output():
            ip.run_cell("pass")

    def bundle():  # the whole display of an answer: HTML, the text/markdown the contract asks for, plain, metadata
        response._repr_mimebundle_()

    def shown():  # the same through IPython's display(), captured as in the cell
        with capture_output():
            display(response)

    steps = (
        ("post", post),
        ("render", render_once),
        ("cell", cell),
        ("empty", empty_cell),
        ("bundle", bundle),
        ("display", shown),
    )
    for _, f in steps:  # warm up: connections, converters, lexers
        f()
    samples = {name: [] for name, _ in steps}
    for _ in range(n):
        for name, f in steps:
            t = time.perf_counter()
            f()
            samples[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) * 1000 for k, v in samples.items()}
    print(f"answer: {len(ANSWER)} characters; {n} interleaved calls each")
    print(f"raw requests POST      median {med['post']:.2f} ms")
    print(f"render + sanitize      median {med['render']:.2f} ms  (to_html)")
    print(f"whole %%llama cell     median {med['cell']:.2f} ms")
    overhead = med["cell"] - med["post"] - med["render"]
    rest = med["cell"] - med["post"] - med["display"] - med["empty"]
    print(f"cell overhead          {overhead:.2f} ms  (cell - POST - render), of which:")
    print(
        f"  the rest of the display (text/markdown, plain, footer, provenance) {med['bundle'] - med['render']:.2f} ms"
    )
    print(f"  IPython's display() of it, captured                             {med['display'] - med['bundle']:.2f} ms")
    print(f"  IPython's own per-cell cost (an empty cell)                     {med['empty']:.2f} ms")
    print(f"  the magic, the pipeline and the client (the rest)               {rest:.2f} ms")
    print(
        f"bytes one answer adds to a saved notebook: {notebook_bytes(response)} (this answer), "
        f"{notebook_bytes(LlamaResponse('Yes.', body['model'], {}, [], Usage(5, 2, 7)))} (a one-line answer)"
    )
    server.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 150)
