"""What the kernel's history lacks, by execution count: each cell's error and the answer it showed.

IPython keeps every cell's source (``In``) and result (``Out``), but not the error a cell raised
nor what a ``%%llama`` cell displayed. :class:`CellRecord` listens to ``pre_run_cell`` /
``post_run_cell`` and keeps both (a bounded number), so ``{Err[n]}``, ``{Out[n]}`` and
``--context`` can send them, and ``%llama_explain`` finds the last error. It only reads each
cell's ``ExecutionResult``, so how errors are displayed never changes, and it works in terminal
IPython, ipykernel and nbclient alike (all trigger the events).

One recorder per shell: the extension registers it on load and :func:`for_shell` finds it.
"""

from __future__ import annotations

import contextlib
import weakref

from .cell_errors import LastError, describe

KEEP = 200  # cells whose error and answer are kept; older ones are forgotten
_RECORDERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def is_explain_cell(source: str | None) -> bool:
    return bool(source) and source.lstrip().startswith(("%llama_explain", "%%llama_explain"))


def for_shell(shell) -> CellRecord | None:
    """The recorder registered on ``shell`` (None before the extension is loaded)."""
    try:
        return _RECORDERS.get(shell)
    except TypeError:  # a shell that cannot be weakly referenced: nothing was registered on it
        return None


class CellRecord:
    """Errors and shown answers by execution count; ``last`` is the last error (not of %llama_explain)."""

    def __init__(self):
        self.last: LastError | None = None
        self.errors: dict[int, LastError] = {}
        self.answers: dict[int, str] = {}
        self.in_cell = False  # a cell that is stored in the history is running now
        self._shell = None

    def register(self, shell) -> CellRecord:
        shell.events.register("pre_run_cell", self.pre_run_cell)
        shell.events.register("post_run_cell", self.post_run_cell)
        self._shell = shell
        _RECORDERS[shell] = self
        return self

    def unregister(self, shell) -> None:
        for event, hook in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            with contextlib.suppress(ValueError):  # not registered (a second unload)
                shell.events.unregister(event, hook)
        if for_shell(shell) is self:
            del _RECORDERS[shell]

    def pre_run_cell(self, info) -> None:
        self.in_cell = bool(getattr(info, "store_history", False))

    def post_run_cell(self, result) -> None:
        self.in_cell = False
        exc = result.error_before_exec or result.error_in_exec
        if exc is None:
            return
        source = getattr(result.info, "raw_cell", None)
        count = result.execution_count if getattr(result.info, "store_history", False) else None
        err = describe(exc, source, count)
        if count is not None:
            self._keep(self.errors, count, err)
        if not is_explain_cell(source):
            self.last = err

    def note_answer(self, text: str) -> None:
        """Keep the text of an answer the running cell shows (``{Out[n]}`` and ``--context`` send it)."""
        if self.in_cell and self._shell is not None:
            self._keep(self.answers, current_cell(self._shell), text)

    @staticmethod
    def _keep(table: dict, count: int, value) -> None:
        table[count] = value
        while len(table) > KEEP:
            del table[next(iter(table))]


def current_cell(shell) -> int:
    """The number of the running cell: its source is the last one stored in the history."""
    return len(shell.history_manager.input_hist_raw) - 1
