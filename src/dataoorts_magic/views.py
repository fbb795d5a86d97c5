"""A small table display: readable as plain text in a terminal, an HTML table in a notebook.

Used by ``%llama_config``, ``%llama_models`` and the other listing magics. Every cell is
escaped, so nothing in a value (a model name, a system prompt) can become markup.
"""
from __future__ import annotations

import html


class Table:
    """Rows under headers, with an optional title and a note line below."""

    def __init__(self, headers, rows, title: str = "", note: str = ""):
        self.headers = [str(h) for h in headers]
        self.rows = [["" if v is None else str(v) for v in row] for row in rows]
        self.title = title
        self.note = note

    def __repr__(self) -> str:
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h)
                  for i, h in enumerate(self.headers)]
        lines = [self.title] if self.title else []
        lines.append("  ".join(h.ljust(w) for h, w in zip(self.headers, widths)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in self.rows]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in self.headers)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(v)}</td>" for v in row) + "</tr>"
            for row in self.rows
        )
        title = f"<strong>{html.escape(self.title)}</strong>" if self.title else ""
        note = f"<div style='color:#666;font-size:85%'>{html.escape(self.note)}</div>" if self.note else ""
        return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
