"""``%llama_explain``: the session's last error, turned into a prompt that asks for a learner's explanation.

The last failed cell is kept by :class:`ErrorRecorder`, a ``post_run_cell`` listener: it
reads the cell's ``ExecutionResult`` (the exception and the cell's source), so how errors
are displayed never changes, and it works in a terminal IPython and in ipykernel alike
(both trigger the event). An error raised before the extension was loaded is still found
through ``sys.last_value``, the cell's source then coming from ``linecache``, where IPython
keeps every cell.
"""

from __future__ import annotations

import contextlib
import linecache
import os
import sys
import traceback
from typing import NamedTuple

from IPython.core.magic import line_magic, magics_class
from IPython.display import display

from ..errors import redact
from ..pipeline.settings import read_key
from ..prompting.short_paths import shorten_frame_line, without_home
from .topic import TopicMagics
from .usage_errors import one_line_errors

SYSTEM = (
    "You are a patient Python teacher helping a learner in a Jupyter notebook. Explain the error "
    "in two or three plain sentences: what went wrong and why. Then show the smallest fix as a "
    "corrected code block. Do not repeat the traceback."
)
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
    """The traceback's frames from the first one outside IPython (the cell) on."""
    frames = traceback.extract_tb(tb)
    inside = _ipython_dir()
    for i, frame in enumerate(frames):
        if not frame.filename.startswith(inside):
            return frames[i:]
    return frames[-1:]


def _clip(text: str, limit: int) -> str:
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


def from_sys() -> LastError | None:
    """The error IPython last showed (``sys.last_value``), for errors before the extension was loaded."""
    exc = getattr(sys, "last_value", None)
    return describe(exc) if isinstance(exc, BaseException) else None


def is_explain_cell(source: str | None) -> bool:
    return bool(source) and source.lstrip().startswith(("%llama_explain", "%%llama_explain"))


class ErrorRecorder:
    """Keeps the last failed cell of the session (``post_run_cell``; cells running %llama_explain excluded)."""

    def __init__(self):
        self.last: LastError | None = None

    def register(self, shell) -> ErrorRecorder:
        shell.events.register("post_run_cell", self.post_run_cell)
        return self

    def unregister(self, shell) -> None:
        with contextlib.suppress(ValueError):  # not registered (a second unload)
            shell.events.unregister("post_run_cell", self.post_run_cell)

    def post_run_cell(self, result) -> None:
        exc = result.error_before_exec or result.error_in_exec
        if exc is None:
            return
        source = getattr(result.info, "raw_cell", None)
        if is_explain_cell(source):
            return
        self.last = describe(exc, source, result.execution_count)


def build_prompt(err: LastError, secret: str | None = None) -> str:
    """The user message: the failing cell, the error and its traceback (the key redacted, the home folder ~)."""
    source = _clip(err.source.strip(), MAX_SOURCE_CHARS) if err.source else "(the cell's source is not available)"
    fence = "````" if "```" in source else "```"
    text = (
        f"This notebook cell failed:\n\n{fence}python\n{source}\n{fence}\n\n"
        f"The error was {err.type_name}: {err.message}\n\n"
        f"Traceback:\n\n```text\n{_clip(err.traceback, MAX_TRACEBACK_CHARS)}\n```\n\n"
        "Explain to a learner what went wrong, and how to fix it."
    )
    text = without_home(text)
    return redact(text, secret) if secret else text


@magics_class
class LlamaExplainMagics(TopicMagics):
    """``%llama_explain``, and the listener that keeps the session's last error for it."""

    def __init__(self, shell=None, core=None):
        super().__init__(shell=shell, core=core)
        self.last_error = ErrorRecorder()  # for %llama_explain; never changes error display
        if shell is not None:
            self.last_error.register(shell)

    def close(self) -> None:
        self.last_error.unregister(self.shell)

    @line_magic
    def llama_explain(self, line=""):
        """Ask the model to explain the last error of this session, for a learner, with a fix.

        In [1]: 1 / 0
        ZeroDivisionError: division by zero

        In [2]: %llama_explain

        Sends the exception, its message, the traceback and the failing cell's source. Paths
        are shortened first: a traceback's files by name (``helpers.py``; an installed package's
        from the package on, ``pandas/core/frame.py``; a cell as ``Cell In[3]``), and your home
        folder anywhere else as ``~``, so no home folder or user name is sent.
        """
        err = self.last_error.last or from_sys()
        if err is None:
            print("No error yet in this session: run the cell that fails, then %llama_explain.")
            return
        prompt = build_prompt(err, read_key(self.llama_session._key))
        with one_line_errors():
            session = self.llama_session
            response = session.send(session.request(prompt, {"system": SYSTEM, "format": "markdown"}))
        display(response)
