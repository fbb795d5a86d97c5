"""The ``dataoorts-magic`` command as a user runs it: ``serve`` and ``demo``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "dataoorts_magic.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_speaks_the_api_until_stopped():
    port = free_port()
    proc = subprocess.Popen(
        [*COMMAND, "serve", "--port", str(port), "--api-key", "k-serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = proc.stdout.readline()  # printed once the socket is listening
        assert f"http://127.0.0.1:{port}/api/v1" in first
        url = f"http://127.0.0.1:{port}/api/v1"
        body = {"model": "meta/llama-3.1-8b-instruct", "data": {"messages": [{"role": "user", "content": "hi"}]}}
        ok = requests.post(url, json=body, headers={"Authorization": "Bearer k-serve"}, timeout=10)
        assert ok.status_code == 200 and ok.json()["success"] is True
        denied = requests.post(url, json=body, headers={"Authorization": "Bearer nope"}, timeout=10)
        assert denied.status_code == 401 and denied.json()["errors"][0]["code"] == 10000
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_demo_runs_the_quickstart_offline_and_says_where_it_wrote(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOORTS_")}
    env["DATAOORTS_MAGIC_HOME"] = str(tmp_path / "home")
    out = tmp_path / "demo"
    done = subprocess.run(
        [*COMMAND, "demo", "--out", str(out)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr
    # The kernel talks over Unix sockets, so ipykernel has no "running over TCP without encryption" warning.
    assert "without encryption" not in done.stderr
    assert done.stderr == "", done.stderr  # nothing on stderr at all: the demo's output is clean
    executed, html_copy = out / "quickstart.ipynb", out / "quickstart.html"
    assert str(executed) in done.stdout and str(html_copy) in done.stdout
    nb = nbformat.read(executed, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    answers = [o for o in outputs if "dataoorts_magic" in o.get("metadata", {})]
    assert len(answers) >= 4
    assert all(o["metadata"]["dataoorts_magic"]["offline"] for o in answers)
    assert all("offline" in o["data"]["text/plain"].rsplit("\n-- ", 1)[1] for o in answers)
    # IPython prints a UsageError as one stderr line, with no traceback.
    errors = [o["text"] for o in outputs if o.get("name") == "stderr" and "UsageError" in o["text"]]
    assert len(errors) == 1 and "temperature" in errors[0] and errors[0].strip().count("\n") == 0
    assert not any(o.get("output_type") == "error" for o in outputs)
    page = html_copy.read_text()
    assert "<table" in page and "codehilite" in page
    assert "not from a model" in json.dumps(answers).lower() or "offline endpoint" in json.dumps(answers)


def test_serve_takes_a_chosen_fault_mix_and_refuses_an_unknown_one():
    from dataoorts_magic.cli import build_parser

    args = build_parser().parse_args(["serve", "--fail-rate", "0.5", "--fail-kinds", "429,drop"])
    assert args.fail_kinds == ("429", "drop") and args.fail_rate == 0.5
    bad = subprocess.run([*COMMAND, "serve", "--fail-kinds", "418"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "418" in bad.stderr and "drop" in bad.stderr
