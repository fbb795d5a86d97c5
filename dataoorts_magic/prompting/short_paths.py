"""Traceback paths made short before ``%llama_explain`` sends them: no home folder, no user name.

A traceback names every file by its full path (``/home/alice/project/helpers.py``,
``/home/alice/.venv/lib/python3.11/site-packages/pandas/core/frame.py``), and a path says who
the user is and how their machine is laid out; the model needs neither to explain an error. So
a file of an installed package is named from its package on (``pandas/core/frame.py``), a file
of the standard library from the library on (``json/decoder.py``), a notebook cell as IPython
names it (``Cell In[3]``), any other file by its name alone (``helpers.py``); and the home
folder, wherever else it appears (an error message, the cell's source), becomes ``~``.
"""

from __future__ import annotations

import os
import re

_PACKAGE_DIRS = ("site-packages", "dist-packages")
_SEPARATORS = re.compile(r"[\\/]")


def _standard_library() -> str:
    import sysconfig  # at first use: %load_ext stays light

    return os.path.normcase(os.path.abspath(sysconfig.get_paths()["stdlib"]))


def short_path(filename: str, shell=None) -> str:
    """The name a traceback line shows for ``filename`` (module docstring)."""
    if shell is not None:
        cell = shell.compile.format_code_name(filename)  # ("Cell", "In[3]") for a cell's code, else None
        if cell:
            return " ".join(cell)
    parts = _SEPARATORS.split(filename)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] in _PACKAGE_DIRS:
            return "/".join(parts[i + 1 :])
    absolute = os.path.normcase(os.path.abspath(filename)) if os.path.isabs(filename) else ""
    stdlib = _standard_library()
    if absolute.startswith(stdlib + os.sep):
        return absolute[len(stdlib) + 1 :].replace(os.sep, "/")
    return parts[-1] or filename


def shorten_frame_line(formatted: str, filename: str, shell=None) -> str:
    """One formatted frame (``File "/long/path.py", line 3, in f``) with its file named short."""
    short = short_path(filename, shell)
    if short.startswith("Cell "):
        return formatted.replace(f'File "{filename}"', short, 1)
    return formatted.replace(f'File "{filename}"', f'File "{short}"', 1)


def without_home(text: str, home: str | None = None) -> str:
    """``text`` with the home folder (``/home/alice``, ``C:\\Users\\alice``) written ``~``."""
    home = (home or os.path.expanduser("~")).rstrip("\\/")
    if len(home) < 2 or not text:  # no home, or the root: nothing that names anyone
        return text
    return re.sub(re.escape(home) + r"(?![\w.-])", "~", text)
