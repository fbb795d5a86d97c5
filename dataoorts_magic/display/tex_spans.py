r"""Where the formulas are in a run of Markdown prose, found as ``tex_html`` finds them for the HTML.

``safe_markdown`` keeps each formula verbatim in the ``text/markdown`` (JupyterLab takes math out
before it reads Markdown, as it does in a Markdown cell) and escapes only the prose around it; so
it must see the same formulas as markdown-it with our math plugins does. ``segments(text)``
splits prose (no fenced code in it) into ``("text", …)`` and ``("math", …)`` pieces, in order:

- ``\(…\)`` and ``\[…\]``; ``\begin{env}…\end{env}`` (JupyterLab typesets any environment;
  the HTML renderer those of amsmath that start a block); ``$$…$$``; ``$…$`` by Pandoc's rule (an opening ``$`` with a
  non-space after it and no digit before it, a closing one with a non-space before it and no
  digit after it), so ``$5 and $10`` is money;
- never across a blank line; a backslash escape stays text (``\$`` is a dollar); code spans stay
  text (math inside code is code).

Pure string work, in one pass.
"""

from __future__ import annotations

import re

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_TICKS = re.compile(r"`+")
_MARK = re.compile(r"[`\\$]")  # where a code span, an escape or a formula may start
_BEGIN = re.compile(r"\\begin\{([A-Za-z]+\*?)\}")


def _escaped(text: str, j: int) -> bool:
    """Whether ``text[j]`` follows an odd number of backslashes."""
    k = j
    while k and text[k - 1] == "\\":
        k -= 1
    return (j - k) % 2 == 1


def _math_end(text: str, i: int, end: int) -> int:
    """Where the formula starting at ``text[i]`` ends (exclusive), or -1 if none starts there."""
    if begin := _BEGIN.match(text, i):
        close = text.find("\\end{" + begin[1] + "}", begin.end(), end)
        return close + len(begin[1]) + 6 if close != -1 else -1
    if text.startswith(("\\(", "\\["), i):
        close = text.find("\\)" if text[i + 1] == "(" else "\\]", i + 3, end)
        return close + 2 if close != -1 else -1
    if i + 1 >= end or text[i + 1].isspace() or (i and text[i - 1].isdigit()):
        return -1
    double = text.startswith("$$", i)
    close = text.find("$$" if double else "$", i + (3 if double else 1), end)
    while close != -1 and _escaped(text, close):
        close = text.find("$$" if double else "$", close + 1, end)
    after = close + (2 if double else 1)
    if close == -1 or (not double and text[close - 1].isspace()) or text[after : after + 1].isdigit():
        return -1
    return after


def segments(text: str) -> list[tuple[str, str]]:
    """``text`` as alternating ("text", …) and ("math", …) pieces that join back to ``text``."""
    if "$" not in text and "\\" not in text:  # most prose: nothing to look at
        return [("text", text)]
    out, last, n = [], 0, len(text)
    paragraph_end = -1
    mark = _MARK.search(text)
    while mark:
        i = mark.start()
        if i > paragraph_end:
            blank = _BLANK_LINE.search(text, i)
            paragraph_end = blank.start() if blank else n
        c, nxt = text[i], i + 1
        if c == "`":
            run = _TICKS.match(text, i)[0]
            close = text.find(run, i + len(run), paragraph_end)
            while close != -1 and text.startswith("`", close + len(run)):  # a longer run does not close it
                close = text.find(run, _TICKS.match(text, close).end(), paragraph_end)
            nxt = close + len(run) if close != -1 else i + len(run)
        elif c == "\\" and not text.startswith(("\\(", "\\[", "\\begin{"), i):
            nxt = i + 2
        elif (end := _math_end(text, i, paragraph_end)) != -1:
            if last < i:
                out.append(("text", text[last:i]))
            out.append(("math", text[i:end]))
            last = nxt = end
        mark = _MARK.search(text, nxt)
    if last < n:
        out.append(("text", text[last:]))
    return out
