"""``--stream``: show the answer while it arrives, then the usual display with its footer.

:class:`LiveAnswer` receives the pieces (``add``, the ``on_text`` of ``LlamaSession.send``).
In a notebook it keeps one display and updates it in place (``display_id``) with the text
rendered so far; in a terminal it prints the pieces as plain text. Re-rendering the whole
text for every piece would cost time quadratic in the answer's length, so an update waits
until the text has grown by a fifth since the last one (the rendered lengths then grow
geometrically and their sum stays under six times the final length) *and* at least 0.1 s,
or as long as the last update took, have passed (so reading the stream gets at least half
of the time). The first piece is shown at once. :func:`watch` runs one request with it and, on
an interrupt or a failure, leaves what arrived on screen.
"""

from __future__ import annotations

import sys
import time

from ..errors import LlamaError
from .response import fenced, footer_div

INTERVAL = 0.1  # seconds between two updates of the display, at least
GROWTH = 0.2  # an update waits for this share of new text (keeps the total cost linear)


class StreamInterrupted(LlamaError):
    what = "Interrupted"


def is_terminal(shell) -> bool:
    """Terminal IPython shows plain text only and cannot update a display in place."""
    return any(cls.__name__ == "TerminalInteractiveShell" for cls in type(shell).__mro__)


class LiveAnswer:
    """One answer shown while it streams: ``add(piece)``, then ``finish(response)`` or ``stop(note)``."""

    def __init__(self, format: str = "markdown", terminal: bool = False, out=None, clock=time.perf_counter):
        self.format = format
        self.terminal = terminal
        self.out = out
        self.clock = clock
        self.parts: list[str] = []
        self.length = 0
        self.shown = 0  # characters in the last update
        self.last = -INTERVAL
        self.cost = 0.0  # seconds the last update took
        self.handle = None
        self.updates = 0  # updates made and seconds spent making them (for the benchmark)
        self.render_seconds = 0.0
        self.first_shown: float | None = None  # clock() when the first text was on screen
        if not terminal:  # the renderer's one-off build is not an update's cost (the throttle keys on that)
            from .render import warm

            warm()

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def _write(self, text: str) -> None:
        stream = self.out or sys.stdout
        stream.write(text)
        stream.flush()

    def add(self, piece: str) -> None:
        """Take one piece; update the display when the throttle allows (always for the first)."""
        if not piece:
            return
        self.parts.append(piece)
        self.length += len(piece)
        if self.terminal:
            self._write(piece)
            if self.first_shown is None:
                self.first_shown = self.clock()
            return
        now = self.clock()
        if self.shown == 0 or (
            now - self.last >= max(INTERVAL, self.cost) and self.length - self.shown >= GROWTH * self.shown
        ):
            self._update(lambda: (self._partial("receiving…"), {}))
            self.last = self.clock()

    def _partial(self, note: str) -> dict:
        """A bundle of the text so far: sanitized HTML, safe Markdown and plain text, with a note."""
        from .render import escape_text, to_html
        from .safe_markdown import to_safe_markdown

        text = self.text
        note_html = footer_div(note)
        if self.format == "markdown":
            body, markdown = to_html(text), to_safe_markdown(text)
        else:  # text, or code/json that cannot be read before the end
            body = f'<pre class="dataoorts-text">{escape_text(text)}</pre>'
            markdown = fenced(text, "text")
        return {"text/html": body + note_html, "text/markdown": markdown, "text/plain": f"{text}\n\n-- {note}"}

    def _update(self, make) -> None:
        """Show ``make()``'s (bundle, metadata): the first time as a new display, then in its place."""
        from IPython.display import display, update_display

        began = self.clock()
        bundle, metadata = make()
        if self.handle is None:
            self.handle = display(bundle, raw=True, metadata=metadata, display_id=True)
        else:
            update_display(bundle, raw=True, metadata=metadata, display_id=self.handle.display_id)
        self.shown = self.length
        self.updates += 1
        done = self.clock()
        self.cost = done - began
        self.render_seconds += self.cost
        if self.first_shown is None:
            self.first_shown = done

    def finish(self, response) -> None:
        """Replace the live text with the response's own display (footer, provenance)."""
        if self.terminal:
            if response.format in ("markdown", "text") and self.text == response.text:
                self._write(f"\n\n-- {response.footer()}\n")
            else:
                from IPython.display import display

                if self.text:
                    self._write("\n\n")
                display(response)
            return
        self._update(response._repr_mimebundle_)

    def stop(self, note: str) -> None:
        """Leave what arrived on screen, marked with ``note`` (an interrupt, a broken stream)."""
        if self.terminal:
            self._write(f"\n-- {note}\n" if self.text else "")
        elif self.handle is not None or self.text:
            self._update(lambda: (self._partial(note), {}))


def watch(ask, view: LiveAnswer):
    """``ask(on_text=view.add)``; on an interrupt or a failure, keep what arrived and raise one line."""
    try:
        return ask(on_text=view.add)
    except KeyboardInterrupt:
        got = view.length
        view.stop(f"interrupted after {got:,} characters")
        raise StreamInterrupted(
            f"Interrupted: the stream was closed after {got:,} characters"
            + ("; what arrived is shown above." if got else ".")
        ) from None
    except LlamaError as err:
        if view.length:
            view.stop(f"stopped after {view.length:,} characters: {err.what}")
        raise
