"""Progress of a batch: done/total, failures, elapsed time and ETA, as a widget or a text line.

Every bar has the same three calls, made from the thread that runs the batch: ``start(total)``,
``update(done, failed, waiting=0.0, concurrency=None)`` and ``finish(done, failed, note)``;
``waiting`` is the wait after a refusal for the rate limit (shown as ``waiting 1.0 s: rate
limited``) and ``concurrency`` the requests allowed in flight now and at most (``concurrency
8/16`` after a refusal halved it). :class:`Progress` itself shows nothing (for ``-q``);
:class:`TextProgress` rewrites one line (a terminal); :class:`LineProgress` redraws one
display by its id (a notebook, foreground or ``--background``: its worker thread never prints
into whichever cell runs then), ordinary HTML that a saved notebook keeps as it last was (no
widget, so no "model not found" when reopened). :func:`for_shell` picks one.
"""

from __future__ import annotations

import sys
import time

BAR_WIDTH = 24
TEXT_INTERVAL = 0.1  # seconds between two redraws of the text line
HANDLE_INTERVAL = 0.25  # seconds between two redraws of a notebook's progress line (a message each)


def seconds(value: float) -> str:
    """``4.2 s``, ``3 min 05 s``: short enough for a progress line."""
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(int(round(value)), 60)
    return f"{minutes} min {rest:02d} s"


def status_line(
    done: int,
    total: int,
    failed: int,
    elapsed: float,
    waiting: float = 0.0,
    concurrency: tuple | None = None,
    ended: bool = False,
) -> str:
    """``7/10 · 1 failed · 3.2 s · ETA 1.4 s · concurrency 4/8 · waiting 1.0 s: rate limited``
    (no ETA once the run has ended, even short of its total: it was stopped)."""
    parts = [f"{done}/{total}"]
    if failed:
        parts.append(f"{failed} failed")
    parts.append(seconds(elapsed))
    if 0 < done < total and not ended:
        parts.append(f"ETA {seconds(elapsed / done * (total - done))}")
    if concurrency is not None:
        parts.append(f"concurrency {concurrency[0]}/{concurrency[1]}")
    if waiting > 0:
        parts.append(f"waiting {waiting:.1f} s: rate limited")
    return " · ".join(parts)


class Progress:
    """The interface, and the bar that shows nothing."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.total = 0
        self.started = 0.0

    def start(self, total: int) -> None:
        self.total, self.started = total, self.clock()

    def update(self, done: int, failed: int, waiting: float = 0.0, concurrency: tuple | None = None) -> None:
        pass

    def finish(self, done: int, failed: int, note: str = "") -> None:
        pass

    def elapsed(self) -> float:
        return self.clock() - self.started


def text_bar(done: int, total: int) -> str:
    """``llama [######..................]``"""
    filled = BAR_WIDTH * done // total if total else BAR_WIDTH
    return f"llama [{'#' * filled}{'.' * (BAR_WIDTH - filled)}]"


class TextProgress(Progress):
    """One line rewritten in place with ``\\r`` (at most every 0.1 s), ended by ``finish``."""

    def __init__(self, stream=None, clock=time.monotonic):
        super().__init__(clock)
        self.stream = stream
        self._last = -TEXT_INTERVAL
        self._width = 0

    def _write(self, done: int, failed: int, end: str = "", note: str = "", **state) -> None:
        line = text_bar(done, self.total) + " " + status_line(done, self.total, failed, self.elapsed(), **state)
        if note:
            line += f" · {note}"
        stream = self.stream or sys.stdout
        stream.write("\r" + line.ljust(self._width) + end)
        stream.flush()
        self._width = len(line)

    def start(self, total: int) -> None:
        super().start(total)
        self._write(0, 0)
        self._last = self.clock()

    def update(self, done: int, failed: int, waiting: float = 0.0, concurrency: tuple | None = None) -> None:
        now = self.clock()
        if now - self._last >= TEXT_INTERVAL:
            self._last = now
            self._write(done, failed, waiting=waiting, concurrency=concurrency)

    def finish(self, done: int, failed: int, note: str = "") -> None:
        self._write(done, failed, end="\n", note=note, ended=True)


class LineProgress(Progress):
    """The progress of a batch in a notebook: one display of a :class:`ProgressLine`, redrawn by its id.

    The same look in the foreground and in the background, and only ordinary HTML: a saved
    notebook keeps the last line, with no widget whose model is gone when it is reopened. Safe
    from a worker thread: an update names the display, so the front end redraws the cell that
    started the run, whichever cell runs now (a ``--background`` run hands in ``handle``, made
    in its own cell; else ``start`` displays one). Redrawn at most every ``HANDLE_INTERVAL`` s;
    ``running`` is said while it runs (how to stop a background run); ``finish`` draws the end.
    """

    def __init__(self, handle=None, running: str = "", clock=time.monotonic, display=None):
        super().__init__(clock)
        self.handle, self.running, self._display = handle, running, display
        self._last = -HANDLE_INTERVAL
        self.line = ""

    def start(self, total: int) -> None:
        super().start(total)
        if self.handle is None:
            if self._display is None:
                from IPython.display import display

                self._display = display
            self.line = self._status(0, 0)
            self.handle = self._display(ProgressLine(0, total, self.line), display_id=True)
            self._last = self.clock()
        else:
            self._draw(0, 0)

    def update(self, done: int, failed: int, waiting: float = 0.0, concurrency: tuple | None = None) -> None:
        if self.clock() - self._last >= HANDLE_INTERVAL:
            self._draw(done, failed, waiting=waiting, concurrency=concurrency)

    def finish(self, done: int, failed: int, note: str = "") -> None:
        self.line = status_line(done, self.total, failed, self.elapsed(), ended=True) + (f" · {note}" if note else "")
        self.handle.update(ProgressLine(done, self.total, self.line))

    def _status(self, done: int, failed: int, **state) -> str:
        line = status_line(done, self.total, failed, self.elapsed(), **state)
        return f"{line} · {self.running}" if self.running else line

    def _draw(self, done: int, failed: int, **state) -> None:
        self._last = self.clock()
        self.line = self._status(done, failed, **state)
        self.handle.update(ProgressLine(done, self.total, self.line))


class ProgressLine:
    """One progress line as a display: an HTML ``<progress>`` bar (named for screen readers) and the
    status in the footer's colours, or the text bar in a terminal."""

    def __init__(self, done: int, total: int, line: str):
        self.done, self.total, self.line = done, total, line

    def __repr__(self) -> str:
        return f"{text_bar(self.done, self.total)} {self.line}"

    def _repr_html_(self) -> str:
        from .styles import FOOTER, text_html

        return (
            f"<div class='dataoorts-progress' style='{FOOTER}'><progress value='{self.done}' "
            f"max='{max(self.total, 1)}' aria-label='llama: {self.done} of {self.total} done' "
            "style='accent-color:var(--jp-brand-color1,#1976d2);vertical-align:middle'></progress> "
            f"<span>llama {text_html(self.line)}</span></div>"
        )


def for_shell(shell, quiet: bool = False) -> Progress:
    """Nothing for ``-q``; the line redrawn in place in a kernel (a notebook); else a text line."""
    if quiet:
        return Progress()
    if getattr(shell, "kernel", None) is not None:
        return LineProgress()
    return TextProgress()
