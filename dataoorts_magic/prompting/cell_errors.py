"""A cell's error as the model is shown it: type, message, the traceback from the cell on, paths short.

Used by ``%llama_explain`` (the last error) and by ``{Err[n]}`` and ``--context`` (any cell's
error), so both send the same text: IPython's own frames left out, each file named short
(``short_paths``: a cell as ``Cell In[3]``, a package's file from the package on) and the home
folder written ``~``, so no folder or user name of the learner's is sent.
"""

from __future__ import annotations

import linecache
import os
import traceback
from typing import NamedTuple

from .short_paths import shorten_frame_line, without_home

MAX_SOURCE_CHARS = 4000
MAX_TRACEBACK_CHARS = 4000


class LastError(NamedTuple):  # not a dataclass: this module loads with the extension, and those are slow to build
    """What a learner saw: the exception's type and message, its traceback, the failing cell."""

    type_name: str
    message: str
    traceback: str
    source: str | None
    execution_count: int | None = None


def _ipython_dir() -> str:
    import IPython

    return os.path.dirname(IPython.__file__)


def _user_frames(tb):
    """The traceback's frames from the first one outside IPython (the cell) on; none when all are
    IPython's (a SyntaxError is raised while IPython compiles the cell: its own lines say where)."""
    frames = traceback.extract_tb(tb)
    inside = _ipython_dir()
    for i, frame in enumerate(frames):
        if not frame.filename.startswith(inside):
            return frames[i:]
    return []


def clip_end(text: str, limit: int) -> str:
    """Keep the end (where the error is) of a long text."""
    return text if len(text) <= limit else "…" + text[-limit:]


def describe(exc: BaseException, source: str | None = None, execution_count: int | None = None) -> LastError:
    """A :class:`LastError` from an exception (and the cell it came from, if known).

    The traceback names files short (``short_paths``): a cell as ``Cell In[3]``, a package's
    file from the package on, any other file by its name, so no folder of the user's is sent."""
    from IPython import get_ipython

    shell = get_ipython()
    frames = _user_frames(exc.__traceback__) if exc.__traceback__ is not None else []
    lines = ["Traceback (most recent call last):\n"] if frames else []
    formatted = zip(frames, traceback.format_list(frames), strict=True)  # one text per frame
    lines += [shorten_frame_line(line, frame.filename, shell) for frame, line in formatted]
    only = traceback.format_exception_only(type(exc), exc)
    where = getattr(exc, "filename", None) if isinstance(exc, SyntaxError) else None
    lines += [shorten_frame_line(line, where, shell) for line in only] if where else only
    if source is None and frames:
        source = "".join(linecache.getlines(frames[0].filename)) or None
    message = str(exc)
    return LastError(type(exc).__name__, message, "".join(lines).rstrip(), source, execution_count)


def error_text(err: LastError) -> str:
    """The error as ``{Err[n]}`` and ``--context`` send it: the traceback's end, the home folder ``~``."""
    text = err.traceback or f"{err.type_name}: {err.message}"
    return without_home(clip_end(text, MAX_TRACEBACK_CHARS))
