"""Views for ``%llama_history`` and ``%llama_usage``: transcripts, their export, the usage table.

Pure functions and display objects: nothing here sends, logs or touches the shell. A
transcript renders the model's text through ``render`` (sanitized HTML) and ``safe_markdown``
(safe Markdown), so a conversation shown again is as safe as the cells that made it.
"""
from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from pathlib import Path

from .errors import ValidationError
from .params import format_cost
from .views import Table

EXPORT_SUFFIXES = (".md", ".json")


def turn_footer(turn: dict) -> str:
    """One line about a turn: model, tokens, cost, and whether it was cached or trimmed."""
    usage = turn["usage"]
    parts = [turn["model"],
             "usage not reported" if usage is None
             else f"{usage['prompt_tokens']} → {usage['completion_tokens']} tokens",
             format_cost(turn["cost"])]
    if turn.get("cached"):
        parts.append("cached")
    if turn.get("offline"):
        parts.append("offline")
    if turn.get("dropped"):
        parts.append(f"{turn['dropped']} oldest turn{'s' if turn['dropped'] != 1 else ''} not sent")
    return " · ".join(parts)


def _summary(conv) -> str:
    n = len(conv.turns)
    return f"Conversation '{conv.name}' · {n} turn{'s' if n != 1 else ''} · {format_cost(conv.cost)}"


class Transcript:
    """A conversation shown turn by turn, with each turn's usage; plain text in a terminal."""

    def __init__(self, conversation):
        self.conversation = conversation

    def __repr__(self) -> str:
        conv = self.conversation
        lines = [_summary(conv)]
        if conv.system:
            lines.append(f"System: {conv.system}")
        for i, turn in enumerate(conv.turns, 1):
            lines += ["", f"[{i}] You:", turn["user"], "", f"[{i}] Llama:", turn["assistant"],
                      f"-- {turn_footer(turn)}"]
        return "\n".join(lines)

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .render import escape_text, to_html

        conv = self.conversation
        parts = [f"<strong>{html.escape(_summary(conv))}</strong>"]
        if conv.system:
            parts.append(f"<div><em>System:</em> {escape_text(conv.system)}</div>")
        for i, turn in enumerate(conv.turns, 1):
            parts.append(
                f'<div class="dataoorts-turn" style="margin-top:.8em">'
                f'<div><strong>[{i}] You</strong></div>'
                f'<pre style="white-space:pre-wrap">{escape_text(turn["user"])}</pre>'
                f'<div><strong>[{i}] Llama</strong></div>{to_html(turn["assistant"])}'
                f'<div style="color:#666;font-size:85%">{html.escape(turn_footer(turn))}</div></div>')
        return {"text/html": "".join(parts), "text/markdown": to_markdown(conv), "text/plain": repr(self)}, {}


def conversation_table(conversations) -> Table:
    """Every conversation of the session with its turn count, tokens and cost."""
    rows = []
    for name in conversations.names():
        conv = conversations.get(name)
        tokens = sum((t["usage"] or {}).get("total_tokens", 0) for t in conv.turns)
        rows.append([name, len(conv.turns), f"{tokens:,}", format_cost(conv.cost)])
    note = ("%llama_history NAME shows one; --clear forgets it; --export PATH.md|.json saves it."
            if rows else "No conversations yet: continue one with %%llama -c [NAME].")
    return Table(["conversation", "turns", "tokens", "cost"], rows, title="Conversations", note=note)


def to_markdown(conv) -> str:
    """A readable transcript (answers made safe, as in the cell's ``text/markdown``)."""
    from .response import markdown_literal
    from .safe_markdown import to_safe_markdown

    lines = [f"# {to_safe_markdown(_summary(conv))}", ""]
    if conv.system:
        lines += [f"**System:** {to_safe_markdown(conv.system)}", ""]
    for i, turn in enumerate(conv.turns, 1):
        lines += [f"## [{i}] You", "", to_safe_markdown(turn["user"]), "",
                  f"## [{i}] Llama", "", to_safe_markdown(turn["assistant"]), "",
                  f"*{markdown_literal(turn_footer(turn))}*", ""]
    return "\n".join(lines)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def to_json(conv) -> dict:
    """The conversation as data: the messages a next turn would send, then every turn in full."""
    turns = [{**turn, "time": _iso(turn["time"])} for turn in conv.turns]
    return {"conversation": conv.name, "system": conv.system, "messages": conv.messages(),
            "turns": turns, "cost": conv.cost}


def export(conv, path) -> Path:
    """Write the transcript to ``path``: Markdown for ``.md``, JSON for ``.json``; returns the path."""
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise ValidationError(f"Cannot export to {path.name!r}: end the path with .md (a readable transcript) "
                              "or .json (messages, parameters and usage).")
    text = to_markdown(conv) if suffix == ".md" else json.dumps(to_json(conv), indent=2, ensure_ascii=False)
    try:
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"Could not write {path} ({exc.strerror or exc}): check the folder exists "
                              "and is writable.") from None
    return path


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
        rows.append([scope, "total", *(f"{total[k]:,}" for k in keys),
                     format_cost(sum(t["cost"] for t in tallies.values()))])
    if not tallies:
        rows.append([scope, "(none)", *("0" for _ in keys), format_cost(0)])
    return rows


def usage_table(session: dict, all_time: dict | None, note: str = "") -> Table:
    """Requests, tokens and cost per model for this session and all time (None: the log is unavailable)."""
    rows = _usage_rows("this session", session)
    if all_time is not None:
        rows += _usage_rows("all time", all_time)
    return Table(USAGE_HEADERS, rows, title="Llama usage", note=note)
