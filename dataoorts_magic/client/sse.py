"""Server-sent events: turn the bytes of a ``text/event-stream`` answer into pieces of text.

Pure and incremental, no network: feed it chunks as they arrive (an event may be split
anywhere, even inside a UTF-8 character or between a CR and its LF) and it returns what
became complete. :class:`SSEDecoder` follows the HTML "server-sent events" parsing rules
(``data:``/``event:``/``id:``/``retry:`` fields, ``:`` comments, a blank line ends an event);
:class:`TextStream` reads the chat events on top of it: ``data: {"response": "..."}`` pieces,
a ``usage`` in the last one, then ``data: [DONE]``. Unknown keys (padding) are ignored.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

DONE = "[DONE]"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass
class ServerEvent:
    """One dispatched event: its data lines joined with newlines, its type, and the last id seen."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class StreamFormatError(ValueError):
    """The stream is not the event stream a chat answer should be (e.g. an event that is not JSON)."""


class SSEDecoder:
    """Incremental event-stream parser: ``feed(bytes)`` and ``close()`` return finished events."""

    def __init__(self) -> None:
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        self._pending: list[str] = []  # pieces of a line whose end has not arrived yet
        self._after_cr = False  # the last piece ended with CR: a LF that comes first belongs to it
        self._started = False
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerEvent]:
        """Events completed by this chunk (possibly none)."""
        return self._lines(self._decode(chunk), final=False)

    def close(self) -> list[ServerEvent]:
        """The end of the stream. Lenient where the spec is strict: a last event whose lines were
        complete but which lacked its closing blank line is still delivered; a cut-off line is not."""
        events = self._lines(self._decode(b"", True), final=True)
        event = self._dispatch()
        return events + ([event] if event else [])

    def feed_line(self, line: str) -> ServerEvent | None:
        """Process one line (without its line break); a blank line returns the finished event."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._last_id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _lines(self, text: str, final: bool) -> list[ServerEvent]:
        # Linear in the stream's length however long a line is: only the new text is searched
        # for line breaks, and the pieces of an unfinished line are joined once, when it ends.
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        start = 0
        if self._after_cr and text:
            self._after_cr = False
            if text.startswith("\n"):  # the LF of a CRLF split across chunks
                start = 1
        events = []
        for brk in _LINE_BREAK.finditer(text, start):
            line = text[start : brk.start()]
            if self._pending:
                self._pending.append(line)
                line = "".join(self._pending)
                self._pending = []
            start = brk.end()
            event = self.feed_line(line)
            if event is not None:
                events.append(event)
        if start < len(text):
            self._pending.append(text[start:])
        elif text.endswith("\r"):
            self._after_cr = True
        if final:
            self._pending = []  # a line cut off by the end of the stream is dropped
        return events

    def _dispatch(self) -> ServerEvent | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return ServerEvent("\n".join(data), event or "message", self._last_id, self._retry)


def iter_events(lines: Iterable[str]) -> Iterator[ServerEvent]:
    """Events from lines already split (without line breaks), e.g. ``response.iter_lines()``."""
    decoder = SSEDecoder()
    for line in lines:
        event = decoder.feed_line(line)
        if event is not None:
            yield event
    yield from decoder.close()


class TextStream:
    """Reads a streamed chat answer: ``feed(chunk)`` returns the new pieces of text.

    After the stream: ``text`` (all pieces), ``usage`` (the last ``usage`` object seen, as sent,
    or None), ``done`` (``[DONE]`` or an error event arrived), ``error`` (the payload of an error
    event, e.g. ``{"errors": [{"code": 3040, ...}]}``, or None). An event that is not a JSON
    object raises :class:`StreamFormatError`.
    """

    def __init__(self) -> None:
        self.decoder = SSEDecoder()
        self.parts: list[str] = []
        self.usage: dict | None = None
        self.done = False
        self.error: dict | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def feed(self, chunk: bytes) -> list[str]:
        return self._apply(self.decoder.feed(chunk))

    def finish(self) -> list[str]:
        return self._apply(self.decoder.close())

    def _apply(self, events: list[ServerEvent]) -> list[str]:
        pieces = []
        for event in events:
            if self.done:
                break
            piece = self._read(event)
            if piece:
                self.parts.append(piece)
                pieces.append(piece)
        return pieces

    def _read(self, event: ServerEvent) -> str:
        if event.data.strip() == DONE:
            self.done = True
            return ""
        try:
            payload = json.loads(event.data)
        except ValueError:
            raise StreamFormatError(f"an event that is not JSON: {event.data[:60]!r}") from None
        except RecursionError:
            raise StreamFormatError("an event nested too deeply to read") from None
        if not isinstance(payload, dict):
            raise StreamFormatError(f"an event that is not a JSON object: {event.data[:60]!r}")
        if event.event == "error" or payload.get("success") is False or payload.get("errors") or payload.get("error"):
            self.error = payload
            self.done = True
            return ""
        if isinstance(payload.get("usage"), dict):
            self.usage = payload["usage"]
        piece = payload.get("response")
        return piece if isinstance(piece, str) else ""
