"""Recognise fenced code blocks (``` and ~~~) in the model's Markdown, line by line.

The one fence grammar shared by ``safe_markdown`` (which must agree with every CommonMark
renderer about where code starts and ends) and ``answer_parts`` (which pulls code and JSON
out of an answer). Pure functions and regexes; no imports beyond ``re``.
"""

from __future__ import annotations

import re

# a fence opener possibly behind container markers (spaces, tabs, '>', list bullets or numbers)
FENCE = re.compile(r"^(?P<prefix>(?:[ \t]|>|(?:[-+*]|\d{1,9}[.)])(?=[ \t]|$))*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
CONTAINER_PREFIX = re.compile(r"(?:[ \t]|>|(?:[-+*]|\d{1,9}[.)])(?=[ \t]|$))*")
_CLOSE = re.compile(r"^(?P<ws>[ \t]*)(?P<run>`{3,}|~{3,})[ \t]*$")
_LANG = re.compile(r"[\w#.+-]+")


def normalize(text) -> str:
    """The text with LF line ends and NUL as U+FFFD, so every scan and renderer sees the same lines."""
    return str(text).replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")


def line_ends(text) -> str:
    """``normalize``, and U+2028/U+2029 as LF too: for Markdown we emit, whose readers may end a line at
    either (a JavaScript regex does), so that every reader sees the lines we saw."""
    return normalize(text).replace("\u2028", "\n").replace("\u2029", "\n")


def width(ws: str) -> int:
    """Columns taken by leading spaces/tabs (tab stops of 4, as CommonMark counts them)."""
    col = 0
    for ch in ws:
        col = col + 4 - col % 4 if ch == "\t" else col + 1
    return col


def opens(m) -> bool:
    """A backtick fence's info string may not contain a backtick (else it is inline code)."""
    return m is not None and (m["fence"][0] == "~" or "`" not in m["info"])


def closes(line: str, fence: str, max_width: int) -> bool:
    """Whether ``line`` closes ``fence``: same character, at least as long, indented at most ``max_width``."""
    m = _CLOSE.match(line)
    return bool(m and m["run"][0] == fence[0] and len(m["run"]) >= len(fence) and width(m["ws"]) <= max_width)


def lang(info: str) -> str:
    """The language named by a fence's info string (``python``, ``{.python ...}``), or ""."""
    m = _LANG.match(info.strip().lstrip("{.").strip())
    return m[0] if m else ""


def fenced_blocks(text: str):
    """Yield (language or None, source) of each fenced block; lenient about indentation, unclosed runs to the end."""
    lines = normalize(text).split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if opens(m) and not m["prefix"].strip(" \t"):
            k, body = width(m["prefix"]), []
            i += 1
            while i < len(lines) and not closes(lines[i], m["fence"], 10**6):
                line = lines[i]
                strip = min(k, len(line) - len(line.lstrip(" ")))
                body.append(line[strip:])
                i += 1
            yield lang(m["info"]) or None, "\n".join(body)
        i += 1
