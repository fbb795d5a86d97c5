"""Strict, bounded reading of JSON out of an answer: the one place an answer's JSON is decoded.

Why: an answer is untrusted text. Python's ``json`` accepts NaN and Infinity (which no notebook can
serialize), raises RecursionError on deep nesting and a ValueError without ``.msg`` on a number
with more than 4,300 digits; and trying ``raw_decode`` at every ``{`` is quadratic on an answer
full of broken objects. Here every failure is a :class:`BadJSON` with one line, non-finite
numbers are invalid, and :func:`first_value` scans in linear time: a start inside the span an
earlier attempt already read is not tried again.
"""

from __future__ import annotations

import json
import math


class BadJSON(ValueError):
    """Text that is not strict JSON: ``msg`` says why, ``where()`` also where (when known)."""

    def __init__(self, msg: str, pos: int | None = None, text: str = ""):
        super().__init__(msg)
        self.msg, self.pos, self._text = msg, pos, text  # line and column are counted only when shown

    def where(self) -> str:
        if self.pos is None:
            return self.msg
        line = self._text.count("\n", 0, self.pos) + 1
        return f"{self.msg} at line {line}, column {self.pos - self._text.rfind(chr(10), 0, self.pos)}"


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJSON(f"the number {text[:20]} is too large")
    return value


def _constant(name: str):
    raise BadJSON(f"{name} is not a JSON number")


DEEP = "it is nested too deeply"
WINDOW = 512  # characters decoded at first from each start
MAX_ATTEMPTS = 10_000
_DECODER = json.JSONDecoder(parse_float=_finite, parse_constant=_constant)


def _decode_all(text: str, start: int):
    try:
        return _DECODER.raw_decode(text, start)
    except BadJSON:
        raise
    except json.JSONDecodeError as err:
        raise BadJSON(err.msg, err.pos, text) from None
    except RecursionError:
        raise BadJSON(DEEP) from None
    except ValueError as err:  # int(): "Exceeds the limit (4300 digits) ..."
        digits = "digits" in str(err)
        raise BadJSON("a number has more than 4300 digits" if digits else str(err)[:120]) from None


def _decode(text: str, start: int):
    """(value, end) of the JSON value at ``start``; every failure is a :class:`BadJSON`.

    Decoded in a window that grows while the value runs past it: ``json`` counts the lines
    before every error from the text's start, which made one failed attempt cost the whole text."""
    size = WINDOW
    while True:
        piece = text[start : start + size]
        try:
            value, end = _DECODER.raw_decode(piece)
            return value, start + end
        except json.JSONDecodeError as err:
            cut = err.pos >= len(piece) - 1 or err.msg.startswith("Unterminated")
            if start + size >= len(text) or not cut:
                raise BadJSON(err.msg, start + err.pos, text) from None
            size *= 4
        except ValueError:
            return _decode_all(text, start)  # a number or nesting error: its own line, without a position
        except RecursionError:
            raise BadJSON(DEEP) from None


def loads(text: str):
    """``text`` as one strict JSON value (surrounding whitespace allowed), else :class:`BadJSON`."""
    start = len(text) - len(text.lstrip())
    value, end = _decode(text, start)
    if text[end:].strip():
        raise BadJSON("Extra data", end, text)
    return value


def first_value(text: str, starts, accept):
    """The first value decoded at one of ``starts`` (ascending positions) that ``accept(value, end)`` takes.

    Linear time: after an attempt, starts before the point it read up to are skipped (a failure's
    position, or a refused value's end); deep nesting, or :data:`MAX_ATTEMPTS` failed starts, end the
    search (no answer hides its object behind ten thousand broken ones). Returns None when none."""
    after, attempts = 0, 0
    for start in starts:
        if start < after:
            continue
        attempts += 1
        if attempts > MAX_ATTEMPTS:
            return None
        try:
            value, end = _decode(text, start)
        except BadJSON as err:
            if err.msg == DEEP:
                return None
            after = max(start + 1, err.pos or 0)
            continue
        if accept(value, end):
            return value
        after = end
    return None
