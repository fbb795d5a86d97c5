"""The cap on an answer's bytes, and bounded inflating, without a network: pieces in, bytes or one error out."""

from __future__ import annotations

import gzip
import zlib

import pytest

from dataoorts_magic import errors
from dataoorts_magic.client.answer_body import MAX_ANSWER_BYTES, READ_SIZE, decoded, too_large


def pieces(data: bytes, size: int = 4096):
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_identity_passes_through_under_the_cap():
    data = b"x" * 100_000
    assert b"".join(decoded(pieces(data), None)) == data
    assert b"".join(decoded(pieces(data), "identity", limit=100_000)) == data


def test_past_the_cap_reading_stops_with_one_line():
    seen = []

    def source():
        for piece in pieces(b"y" * 50_000):
            seen.append(piece)
            yield piece

    with pytest.raises(errors.AnswerTooLargeError) as info:
        b"".join(decoded(source(), None, limit=10_000))
    assert len(seen) * 4096 < 20_000  # stopped while reading, not after
    assert "more than 10,000 bytes" in str(info.value) and "\n" not in str(info.value)
    assert "more than 4 MB" in str(too_large(MAX_ANSWER_BYTES))


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "raw deflate"])
def test_compressed_bodies_inflate(encoding):
    data = b"An answer, compressed. " * 5000
    if encoding == "deflate":
        packed = zlib.compress(data)
    elif encoding == "raw deflate":
        z = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        packed, encoding = z.compress(data) + z.flush(), "deflate"  # some servers send deflate without zlib's header
    else:
        packed = gzip.compress(data)
    assert b"".join(decoded(pieces(packed, 100), encoding)) == data


def test_gzip_members_one_after_another_are_all_read():
    assert b"".join(decoded([gzip.compress(b"one ") + gzip.compress(b"two")], "gzip")) == b"one two"


def test_a_bomb_inflates_a_bounded_piece_at_a_time():
    member = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = member.compress(bytes(64 * 2**20)) + member.flush()  # 64 KB -> 64 MiB
    largest, made = 0, 0
    with pytest.raises(errors.AnswerTooLargeError):
        for out in decoded(pieces(bomb, READ_SIZE), "gzip", limit=1_000_000):
            largest, made = max(largest, len(out)), made + len(out)
    assert largest <= READ_SIZE and made <= 1_000_000 + READ_SIZE


@pytest.mark.parametrize(
    "encoding, data, words",
    [
        ("br", b"whatever", "encoded as 'br'"),
        ("gzip", b"not gzip at all", "does not inflate"),
        ("gzip", gzip.compress(b"cut short" * 100, mtime=0)[:-20], "does not inflate"),
    ],
)
def test_what_cannot_be_decoded_is_one_bad_response_line(encoding, data, words):
    with pytest.raises(errors.BadResponseError) as info:
        b"".join(decoded([data], encoding))
    assert words in str(info.value) and "\n" not in str(info.value)
