"""The plain text of an answer's Markdown, and a short snippet of it for a table cell.

A table of answers (``--over``) has room for a line or two, and there ``## Echo`` or
``**bold**`` read as noise: the snippet is what a reader sees once the Markdown is rendered,
without the markup. The text is read with markdown-it-py (CommonMark plus tables and
strikethrough, as answers are rendered), so emphasis inside words, escapes and code spans come
out as written. The result is plain text, not markup: whoever shows it still escapes it.
"""

from __future__ import annotations

from functools import lru_cache

ELLIPSIS = "…"
ROW_JOIN = " | "  # the cells of one table row, on one line


@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _inline_text(token) -> str:
    """The visible text of an inline token: text, code spans, image alt text; breaks are spaces."""
    parts = []
    for child in token.children or ():
        if child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_inline_text(child))
        elif child.content:
            parts.append(child.content)
    return "".join(parts)


def plain_lines(markdown: str) -> list[str]:
    """One line of plain text per block (heading, paragraph, list item, table row, code line)."""
    lines: list[str] = []
    row: list[str] | None = None
    for token in _parser().parse(markdown or ""):
        if token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            lines.append(ROW_JOIN.join(row or []))
            row = None
        elif token.type == "inline":
            text = " ".join(_inline_text(token).split())
            if row is not None:
                row.append(text)
            elif text:
                lines.append(text)
        elif token.type in ("fence", "code_block", "html_block"):
            lines += [line.strip() for line in token.content.splitlines() if line.strip()]
    return [line for line in lines if line.strip()]


def snippet(markdown: str, lines: int = 2, limit: int = 160) -> str:
    """The first ``lines`` lines of the plain text, joined, at most ``limit`` characters; ``…`` marks a cut."""
    all_lines = plain_lines(markdown)
    text = " · ".join(all_lines[:lines])
    if len(text) > limit:
        return text[: limit - 1].rstrip() + ELLIPSIS
    return text + (f" {ELLIPSIS}" if len(all_lines) > lines else "")
