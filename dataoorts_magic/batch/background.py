"""``-b/--background``: a ``--over`` or ``--compare`` batch runs on a thread and the cell returns at once.

Why: a 30-minute batch must not block the notebook for 30 minutes. Everything is checked in the
cell first (bad input fails there, nothing sent); then ``-o VAR`` is bound to the
:class:`~.result.BatchResult`, which fills in as answers arrive (``done``, ``wait()``,
``cancel()``, ``error``), and the batch runs through the same pipeline as in the foreground, so
budget, log, cache, rate limit and resume apply.

The cell shows one display, and the worker thread only ever updates that display by its id
(``DisplayHandle.update``): it never prints, so nothing lands in whichever cell runs meanwhile.
When the run ends the same display shows the usual table (or the comparison) with its totals,
and a whole-batch error (no key, quota) above it. A shell that cannot update a display in place
(terminal IPython, or no kernel) gets one line saying so and nothing more is printed: the result
is there to look at (``out``, ``out.wait()``).
"""

from __future__ import annotations

import threading

from ..display.progress import LineProgress, Progress, ProgressLine
from ..display.styles import error_html
from ..errors import one_line
from . import compare, over
from .result import BatchResult


def run_over(shell, session, batch: over.Batch, jobs: int, *, fresh: bool, quiet: bool, out: str) -> BatchResult:
    """Start ``--over`` in the background; returns its result at once (``fresh``: ``--no-cache``)."""
    result = over.result_for(batch)
    start(
        shell,
        result,
        lambda progress: over.run(session, batch, jobs, progress, fresh=fresh, result=result),
        lambda: result,
        quiet=quiet,
        out=out,
    )
    return result


def run_compare(shell, session, plan: compare.Plan, jobs: int, *, quiet: bool, out: str) -> BatchResult:
    """Start ``--compare`` in the background; its result holds the answers in column order."""
    result = compare.result_for(plan)
    start(
        shell,
        result,
        lambda progress: compare.run(session, plan, jobs, progress, result=result),
        lambda: compare.Comparison(plan.headers, result.results),
        quiet=quiet,
        out=out,
    )
    return result


def start(shell, result: BatchResult, work, final, *, quiet: bool = False, out: str = "out") -> threading.Thread:
    """Show the live display in this cell, then run ``work(progress)`` on a thread; when it ends,
    the display shows ``final()`` (and the batch's error, if any) and ``result.done`` turns True."""
    live = getattr(shell, "kernel", None) is not None and not quiet
    handle, progress = None, Progress()
    if live:
        from IPython.display import display

        # Kernel > Interrupt does not reach the worker thread: the line says what stops it
        running = f"running in the background: {out}.cancel() stops it"
        handle = display(ProgressLine(0, len(result), f"starting · {running}"), display_id=True)
        progress = LineProgress(handle, running)
    elif not quiet:
        print(
            f"Running {len(result)} requests in the background: {out} fills in as answers arrive "
            f"({out}.done, {out}.wait(), {out}.cancel()). This shell cannot update a display in place, "
            f"so nothing more is printed here: look at {out} to see how far it got."
        )
    result._running = True
    result._done.clear()

    def body():
        try:
            work(progress)
        except BaseException as exc:  # on a thread nothing may vanish: it becomes the batch's error
            result._error = exc
        finally:
            result._running = False  # the outcomes are final: show them, then let wait() return
            if handle is not None:
                try:
                    handle.update(Ended(final(), result.error))
                except Exception as exc:  # a display that cannot be drawn still ends the run
                    handle.update(Ended(None, exc))
            result._done.set()

    thread = threading.Thread(target=body, name="dataoorts-background", daemon=True)
    thread.start()
    return thread


class Ended:
    """What the display of a finished background run shows: the whole-batch error, then the answers."""

    def __init__(self, view, error: BaseException | None):
        self.view, self.error = view, error

    def __repr__(self) -> str:
        return self._repr_mimebundle_()[0]["text/plain"]

    def _repr_mimebundle_(self, include=None, exclude=None):
        data, meta = self.view._repr_mimebundle_() if self.view is not None else ({"text/plain": ""}, {})
        data = dict(data)
        if self.error is not None:
            line = one_line(self.error)
            data["text/plain"] = f"⚠ {line}\n{data['text/plain']}".rstrip("\n")
            data["text/html"] = error_html(line) + data.get("text/html", "")
        return data, meta
