"""An answer's bytes, read with a cap: a body or a stream never brings more than ``MAX_ANSWER_BYTES``.

An 8,000-token answer is a few tens of kilobytes; a broken proxy, a runaway stream or a gzip
bomb (2 MB that inflate to 2 GiB) would otherwise fill the kernel's memory before anything
could be said. So the body is read raw, in pieces of at most ``READ_SIZE`` bytes, and inflated
here (gzip or deflate, the encodings the client asks for) with ``max_length``, so no step makes
more than ``READ_SIZE`` bytes; past the cap, on the wire or after inflating, reading stops with
:class:`~dataoorts_magic.errors.AnswerTooLargeError`. Pure of the network: it reads what urllib3
gives.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

from ..errors import AnswerTooLargeError, BadResponseError

MAX_ANSWER_BYTES = 4_000_000  # decoded bytes of one answer, body or stream
READ_SIZE = 65536
ACCEPT_ENCODING = "gzip, deflate"  # what we can inflate with a bound (never br or zstd)
_GZIP_MAGIC = b"\x1f\x8b"


def too_large(limit: int, streamed: bool = False) -> AnswerTooLargeError:
    """The one-line failure for an answer past ``limit`` bytes."""
    size = f"{limit / 1e6:g} MB" if limit >= 1e6 else f"{limit:,} bytes"
    rest = "reading stopped there" if streamed else "nothing of it is shown"
    return AnswerTooLargeError(f"The endpoint sent more than {size}, the cap on one answer; {rest}")


def raw_pieces(raw) -> Iterator[bytes]:
    """The body's bytes as they arrive, undecoded, at most READ_SIZE at a time.

    urllib3's own ``stream()`` would wait for a full 10 KiB piece on a non-chunked answer, and
    ``read_chunked()`` without a size would hold a whole chunk, however large, in memory.
    """
    if raw.chunked and raw.supports_chunked_reads():
        yield from raw.read_chunked(READ_SIZE, decode_content=False)
        return
    while piece := raw.read1(READ_SIZE, decode_content=False):
        yield piece


class _Inflater:
    """gzip (members one after another) or deflate (zlib-wrapped, or raw as some servers send)."""

    def __init__(self, encoding: str):
        self.gzip = encoding in ("gzip", "x-gzip")
        self._new(16 + zlib.MAX_WBITS if self.gzip else zlib.MAX_WBITS)
        self._started = False

    def _new(self, wbits: int) -> None:
        self.wbits = wbits
        self._z = zlib.decompressobj(wbits)

    def inflate(self, data: bytes) -> Iterator[bytes]:
        """Pieces of at most READ_SIZE bytes, until ``data`` is used up."""
        while True:
            try:
                piece = self._z.decompress(data, READ_SIZE)
            except zlib.error:
                if self.gzip or self._started or self.wbits < 0:
                    raise
                self._new(-zlib.MAX_WBITS)  # deflate without its zlib header
                continue
            self._started = True
            data = self._z.unconsumed_tail
            if piece:
                yield piece
            if self._z.eof:
                data = self._z.unused_data
                if not (self.gzip and data.startswith(_GZIP_MAGIC)):
                    return  # what follows the last member is ignored, as browsers do
                self._new(self.wbits)
            elif not data and not piece:
                return

    def check_end(self) -> None:
        if self._started and not self._z.eof:
            raise zlib.error("the compressed data ended early")


def decoded(
    pieces: Iterable[bytes], encoding: str | None, limit: int = MAX_ANSWER_BYTES, streamed: bool = False
) -> Iterator[bytes]:
    """The decoded bytes of ``pieces`` (sent with Content-Encoding ``encoding``), at most ``limit`` in all.

    Raises AnswerTooLargeError past ``limit`` (raw or decoded), BadResponseError for an encoding
    we did not ask for or data that does not inflate.
    """
    encoding = (encoding or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise BadResponseError(
            provider_message=f"the answer is encoded as {encoding[:40]!r}, which this client did not ask for"
        )
    inflater = None if encoding == "identity" else _Inflater(encoding)
    sent = made = 0
    try:
        for piece in pieces:
            sent += len(piece)
            if sent > limit:
                raise too_large(limit, streamed)
            for out in (piece,) if inflater is None else inflater.inflate(piece):
                made += len(out)
                if made > limit:
                    raise too_large(limit, streamed)
                yield out
        if inflater is not None:
            inflater.check_end()
    except zlib.error as exc:
        raise BadResponseError(provider_message=f"its {encoding} data does not inflate ({exc})") from None


def read_body(raw, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """A whole answer body, decoded and capped (see :func:`decoded`)."""
    return b"".join(decoded(raw_pieces(raw), raw.headers.get("Content-Encoding"), limit))
