"""short_paths.py: how %llama_explain names the files of a traceback, and the home folder."""

from __future__ import annotations

import json.decoder

import pytest

from dataoorts_magic.prompting.short_paths import short_path, shorten_frame_line, without_home


@pytest.mark.parametrize(
    "filename, short",
    [
        ("/home/alice/.venv/lib/python3.11/site-packages/pandas/core/frame.py", "pandas/core/frame.py"),
        ("/usr/lib/python3/dist-packages/numpy/core/fromnumeric.py", "numpy/core/fromnumeric.py"),
        (r"C:\Users\alice\venv\Lib\site-packages\requests\models.py", "requests/models.py"),
        ("/home/alice/project/helpers.py", "helpers.py"),
        ("/tmp/ipykernel_4242/1234567.py", "1234567.py"),
        ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap>"),
        (json.decoder.__file__, "json/decoder.py"),  # the standard library, from the library on
    ],
)
def test_short_path(filename, short):
    assert short_path(filename) == short


def test_a_cell_is_named_as_ipython_names_it(ip):
    ip.run_cell("x_13 = 1", store_history=True)
    number = ip.execution_count - 1
    filename = next(name for name, n in ip.compile._filename_map.items() if n == number)
    line = f'  File "{filename}", line 1, in <module>\n'
    assert shorten_frame_line(line, filename, ip) == f"  Cell In[{number}], line 1, in <module>\n"


@pytest.mark.parametrize(
    "text, home, shown",
    [
        ("open('/home/alice/data.csv')", "/home/alice", "open('~/data.csv')"),
        ("/home/alice", "/home/alice/", "~"),
        ("/home/alice2/x and /home/alice.bak", "/home/alice", "/home/alice2/x and /home/alice.bak"),
        (r"C:\Users\alice\notes.txt", r"C:\Users\alice", r"~\notes.txt"),
        ("/etc/passwd", "/", "/etc/passwd"),  # a home of / names nobody
    ],
)
def test_without_home(text, home, shown):
    assert without_home(text, home) == shown
