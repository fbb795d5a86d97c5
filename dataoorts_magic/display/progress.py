"""Progress of a batch: done/total, failures, elapsed time and ETA, as a widget or a text line.

Every bar has the same three calls, made from the kernel's main thread: ``start(total)``,
``update(done, failed)`` and ``finish(done, failed, note)``. :class:`Progress` itself shows
nothing (for ``-q``); :class:`TextProgress` rewrites one line (a terminal, or a notebook
without ipywidgets); :class:`WidgetProgress` is an ipywidgets bar, imported only when built.
:func:`for_shell` picks one.
"""

from __future__ import annotations

import sys
import time

BAR_WIDTH = 24
TEXT_INTERVAL = 0.1  # seconds between two redraws of the text line


def seconds(value: float) -> str:
    """``4.2 s``, ``3 min 05 s``: short enough for a progress line."""
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(int(round(value)), 60)
    return f"{minutes} min {rest:02d} s"


def status_line(done: int, total: int, failed: int, elapsed: float) -> str:
    """``7/10 · 1 failed · 3.2 s · ETA 1.4 s``: what every bar says."""
    parts = [f"{done}/{total}"]
    if failed:
        parts.append(f"{failed} failed")
    parts.append(seconds(elapsed))
    if 0 < done < total:
        parts.append(f"ETA {seconds(elapsed / done * (total - done))}")
    return " · ".join(parts)


class Progress:
    """The interface, and the bar that shows nothing."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.total = 0
        self.started = 0.0

    def start(self, total: int) -> None:
        self.total, self.started = total, self.clock()

    def update(self, done: int, failed: int) -> None:
        pass

    def finish(self, done: int, failed: int, note: str = "") -> None:
        pass

    def elapsed(self) -> float:
        return self.clock() - self.started


class TextProgress(Progress):
    """One line rewritten in place with ``\\r`` (at most every 0.1 s), ended by ``finish``."""

    def __init__(self, stream=None, clock=time.monotonic):
        super().__init__(clock)
        self.stream = stream
        self._last = -TEXT_INTERVAL
        self._width = 0

    def _write(self, done: int, failed: int, end: str = "", note: str = "") -> None:
        filled = BAR_WIDTH * done // self.total if self.total else BAR_WIDTH
        line = f"llama [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] " + status_line(
            done, self.total, failed, self.elapsed()
        )
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

    def update(self, done: int, failed: int) -> None:
        now = self.clock()
        if now - self._last >= TEXT_INTERVAL:
            self._last = now
            self._write(done, failed)

    def finish(self, done: int, failed: int, note: str = "") -> None:
        self._write(done, failed, end="\n", note=note)


class WidgetProgress(Progress):
    """An ipywidgets bar and label; shown by ``start``, changed only by setting traits."""

    def __init__(self, display=None, clock=time.monotonic):
        super().__init__(clock)
        import ipywidgets as widgets

        self.bar = widgets.IntProgress(value=0, min=0, max=1, description="llama", layout=widgets.Layout(width="40%"))
        self.label = widgets.Label(value="")
        self.box = widgets.HBox([self.bar, self.label])
        self._display = display

    def start(self, total: int) -> None:
        super().start(total)
        self.bar.max = max(total, 1)
        self.label.value = status_line(0, total, 0, 0.0)
        if self._display is None:
            from IPython.display import display

            self._display = display
        self._display(self.box)

    def update(self, done: int, failed: int) -> None:
        self.bar.value = done
        self.bar.bar_style = "warning" if failed else ""
        self.label.value = status_line(done, self.total, failed, self.elapsed())

    def finish(self, done: int, failed: int, note: str = "") -> None:
        self.update(done, failed)
        if note:
            self.label.value += f" · {note}"
        self.bar.bar_style = "danger" if note or (failed and failed == done) else "warning" if failed else "success"


def for_shell(shell, quiet: bool = False) -> Progress:
    """Nothing for ``-q``; a widget in a kernel that has ipywidgets; else a text line."""
    if quiet:
        return Progress()
    if getattr(shell, "kernel", None) is not None:
        try:
            return WidgetProgress()
        except ImportError:
            pass
    return TextProgress()
