"""The notebook's cells as the kernel knows them, as prompt text: ``{In[n]}``, ``{Out[n]}``, ``{Err[n]}``.

Only the kernel's own history is read, never a file or the notebook document, so it works in
any front end and in nbclient: the source as typed (``In``, IPython's raw input history), the
result (``Out``; a DataFrame as the compact Markdown of ``frame_markdown``; a display object's
own text, never its rendering; for a ``%%llama`` cell the answer's text it showed) and the error
(``cell_record``, described as ``%llama_explain`` sends it).

A negative index counts back from the running cell: ``{Err[-1]}`` is the previous cell's error.
From the panel, which is no cell, ``-1`` is the last cell run. A cell that ran but has no result
or no error gives ``""``; a cell number that never ran does not resolve (left as typed).

Nothing here sends the API key: a ``%llama_key`` line (or one that sets ``DATAOORTS_API_KEY``) is
left out of every source, and the key's value is replaced by ``***`` wherever it appears.
"""

from __future__ import annotations

import re

from ..errors import redact
from .cell_errors import error_text
from .cell_record import current_cell
from .frame_markdown import frame_to_markdown, pandas_kind

MAX_RESULT_CHARS = 3000
_KEY_LINE = re.compile(
    r"^[^\n]*(?:%llama_key|run_line_magic\(\s*['\"]llama_key|DATAOORTS_API_KEY['\"\]\s]*=(?!=))[^\n]*$", re.M
)
KEY_LINE_LEFT_OUT = "# (a line that sets the API key, left out)"


def scrub(text: str, secret=None) -> str:
    """``text`` with no line that sets the key and the key's value (if any) as ``***``."""
    return redact(_KEY_LINE.sub(KEY_LINE_LEFT_OUT, text), secret) if text else text


def result_text(value) -> str:
    """A cell's result as prompt text: a DataFrame as Markdown, a display object's own text, else ``str()``."""
    if value is None:
        return ""
    if pandas_kind(value) is not None:
        return frame_to_markdown(value)
    data = getattr(value, "data", None)
    display_object = isinstance(data, str) and type(value).__module__.startswith("IPython.")  # HTML, Markdown, ...
    text = data if display_object else str(value)
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + f"… ({len(text) - MAX_RESULT_CHARS:,} more characters)"
    return text


class NotebookCells:
    """The cells run so far in ``shell``; ``record`` is the extension's ``CellRecord`` (or None)."""

    def __init__(self, shell, record=None, secret=None):
        self.shell, self.record, self.secret = shell, record, secret
        history = shell.history_manager
        self._raw = history.input_hist_raw
        self._out = history.output_hist
        in_cell = record.in_cell if record is not None else True
        self.current = current_cell(shell) if in_cell else len(self._raw)  # the panel runs in no cell

    def number(self, index: int) -> int:
        """The cell number ``index`` names (negative: counted back from the running cell); KeyError if none."""
        n = self.current + index if index < 0 else index
        if not 1 <= n < len(self._raw):
            raise KeyError(index)
        return n

    def source(self, n: int) -> str:
        return scrub(self._raw[n].rstrip(), self.secret)

    def result(self, n: int) -> str:
        if n in self._out:
            return scrub(result_text(self._out[n]), self.secret)
        answer = self.record.answers.get(n) if self.record is not None else None
        return scrub(answer, self.secret) if answer else ""

    def result_kind(self, n: int) -> str:
        """The fence language of cell ``n``'s result: ``markdown`` for a DataFrame's table, else ``text``."""
        return "markdown" if n in self._out and pandas_kind(self._out[n]) is not None else "text"

    def error(self, n: int) -> str:
        err = self.record.errors.get(n) if self.record is not None else None
        return scrub(error_text(err), self.secret) if err is not None else ""

    def before(self, count: int) -> list[int]:
        """The numbers of the last ``count`` cells run before the running one, oldest first."""
        last = self.current - 1
        return [n for n in range(max(1, last - count + 1), last + 1) if n < len(self._raw)]

    def names(self) -> dict:
        """``In``, ``Out`` and ``Err`` for ``{field}`` interpolation (they shadow IPython's own)."""
        return {"In": _View(self, self.source), "Out": _View(self, self.result), "Err": _View(self, self.error)}


class _View:
    """``In[n]`` / ``Out[n]`` / ``Err[n]``: one kind of a cell's text, by number or counted back."""

    def __init__(self, cells: NotebookCells, read):
        self._cells, self._read = cells, read

    def __getitem__(self, index: int) -> str:
        return self._read(self._cells.number(index))
