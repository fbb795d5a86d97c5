"""``%llama_explain``: the session's last error, turned into a prompt that asks for a learner's explanation.

The last failed cell is kept by :class:`ErrorRecorder` (``prompting.cell_record``), a
``post_run_cell`` listener that also keeps every cell's error for ``{Err[n]}``; the error is
described as ``prompting.cell_errors`` does for both, so the two send the same text. An error
raised before the extension was loaded is still found through ``sys.last_value``, the cell's
source then coming from ``linecache``, where IPython keeps every cell.
"""

from __future__ import annotations

import sys

from IPython.core.magic import line_magic, magics_class
from IPython.display import display

from ..errors import redact
from ..pipeline.settings import read_key
from ..prompting.cell_errors import MAX_SOURCE_CHARS, MAX_TRACEBACK_CHARS, LastError, clip_end, describe
from ..prompting.cell_record import CellRecord, is_explain_cell
from ..prompting.short_paths import without_home
from .topic import TopicMagics
from .usage_errors import one_line_errors

__all__ = [
    "SYSTEM",
    "ErrorRecorder",
    "LastError",
    "LlamaExplainMagics",
    "build_prompt",
    "describe",
    "from_sys",
    "is_explain_cell",
]

SYSTEM = (
    "You are a patient Python teacher helping a learner in a Jupyter notebook. Explain the error "
    "in two or three plain sentences: what went wrong and why. Then show the smallest fix as a "
    "corrected code block. Do not repeat the traceback."
)

# The recorder of every cell's error (``prompting.cell_record``): %llama_explain reads its ``last``.
ErrorRecorder = CellRecord


def from_sys() -> LastError | None:
    """The error IPython last showed (``sys.last_value``), for errors before the extension was loaded."""
    exc = getattr(sys, "last_value", None)
    return describe(exc) if isinstance(exc, BaseException) else None


def build_prompt(err: LastError, secret: str | None = None) -> str:
    """The user message: the failing cell, the error and its traceback (the key redacted, the home folder ~)."""
    source = clip_end(err.source.strip(), MAX_SOURCE_CHARS) if err.source else "(the cell's source is not available)"
    fence = "````" if "```" in source else "```"
    text = (
        f"This notebook cell failed:\n\n{fence}python\n{source}\n{fence}\n\n"
        f"The error was {err.type_name}: {err.message}\n\n"
        f"Traceback:\n\n```text\n{clip_end(err.traceback, MAX_TRACEBACK_CHARS)}\n```\n\n"
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
