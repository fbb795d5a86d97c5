"""A small table display: readable as plain text in a terminal, an HTML table in a notebook.

Used by ``%llama_config``, ``%llama_models``, ``%llama_usage`` and ``%llama_history``'s list.
Every cell is escaped and its script URLs broken (``styles.text_html``), so nothing in a value (a
model name, a system prompt, a field of a ``--schema`` answer) can become markup or, through
MathJax's ``\\href``, a link.
"""

from __future__ import annotations

from ..params import format_cost
from .styles import footer_html, text_html


class Table:
    """Rows under headers, with an optional title and a note line below."""

    def __init__(self, headers, rows, title: str = "", note: str = ""):
        self.headers = [str(h) for h in headers]
        self.rows = [["" if v is None else str(v) for v in row] for row in rows]
        self.title = title
        self.note = note

    def __repr__(self) -> str:
        widths = [
            max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h) for i, h in enumerate(self.headers)
        ]
        lines = [self.title] if self.title else []
        lines.append("  ".join(h.ljust(w) for h, w in zip(self.headers, widths, strict=True)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in self.rows]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{text_html(h)}</th>" for h in self.headers)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{text_html(v)}</td>" for v in row) + "</tr>"
            for row in self.rows
        )
        title = f"<strong>{text_html(self.title)}</strong>" if self.title else ""
        note = footer_html(self.note, "dataoorts-note") if self.note else ""
        return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def conversation_table(conversations) -> Table:
    """Every conversation of the session with its turn count, tokens and cost."""
    rows = []
    for name in conversations.names():
        conv = conversations.get(name)
        tokens = sum((t["usage"] or {}).get("total_tokens", 0) for t in conv.turns)
        rows.append([name, len(conv.turns), f"{tokens:,}", format_cost(conv.cost)])
    note = (
        "%llama_history NAME shows one; --clear forgets it; --export PATH.md|.json saves it."
        if rows
        else "No conversations yet: continue one with %%llama -c [NAME]."
    )
    return Table(["conversation", "turns", "tokens", "cost"], rows, title="Conversations", note=note)


USAGE_HEADERS = ["scope", "model", "requests", "cached", "failed", "prompt tokens", "completion tokens", "cost"]


def _usage_rows(scope: str, tallies: dict) -> list[list]:
    """Rows of one scope (model -> dict of counts), with a total row when there are several models."""
    keys = ("requests", "cached", "errors", "prompt_tokens", "completion_tokens")
    rows = []
    for model, t in sorted(tallies.items()):
        cost = format_cost(t["cost"]) + (" + unknown" if t.get("unknown_cost") else "")
        rows.append([scope, model, *(f"{t[k]:,}" for k in keys), cost])
    if len(tallies) > 1:
        total = {k: sum(t[k] for t in tallies.values()) for k in keys}
        rows.append(
            [scope, "total", *(f"{total[k]:,}" for k in keys), format_cost(sum(t["cost"] for t in tallies.values()))]
        )
    if not tallies:
        rows.append([scope, "(none)", *("0" for _ in keys), format_cost(0)])
    return rows


def usage_table(session: dict, all_time: dict | None, note: str = "") -> Table:
    """Requests, tokens and cost per model for this session and all time (None: the log is unavailable)."""
    rows = _usage_rows("this session", session)
    if all_time is not None:
        rows += _usage_rows("all time", all_time)
    return Table(USAGE_HEADERS, rows, title="Llama usage", note=note)
