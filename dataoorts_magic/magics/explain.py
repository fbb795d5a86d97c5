"""``%llama_explain``: the session's last error, turned into a prompt that asks for a learner's explanation.

The last failed cell is kept by :class:`ErrorRecorder` (``prompting.cell_record``), a
``post_run_cell`` listener that also keeps every cell's error for ``{Err[n]}``; the error is
described as ``prompting.cell_errors`` does for both, so the two send the same text. An error
raised before the extension was loaded is still found through ``sys.last_value``, the cell's
source then coming from ``linecache``, where IPython keeps every cell.
"""

from __future__ import annotations

import sys

from ..errors import redact
from ..prompting.cell_errors import MAX_SOURCE_CHARS, MAX_TRACEBACK_CHARS, LastError, clip_end, describe
from ..prompting.cell_record import CellRecord, is_explain_cell
from ..prompting.short_paths import without_home

__all__ = ["SYSTEM", "ErrorRecorder", "LastError", "build_prompt", "describe", "from_sys", "is_explain_cell"]

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
