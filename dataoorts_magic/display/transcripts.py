"""A conversation shown again (``%llama_history NAME``): its transcript, and its export to .md or .json.

Pure functions and display objects: nothing here sends, logs or touches the shell. A
transcript renders the model's text through ``render`` (sanitized HTML) and ``safe_markdown``
(safe Markdown), so a conversation shown again is as safe as the cells that made it.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ValidationError
from ..params import format_cost
from .footer import footer_line
from .styles import FOOTER, footer_html

EXPORT_SUFFIXES = (".md", ".json")
# A chat's hierarchy: the title, then each role's label larger than anything inside an answer (whose
# own headings are brought down to the text's size), the user's words in the text font (not code),
# each answer set in by a rule in the theme's brand colour.
TITLE = "font-weight:bold;font-size:1.25em;margin-bottom:.3em"
ROLE = "font-weight:bold;font-size:1.15em;margin-top:.6em"
USER = "white-space:pre-wrap;margin:.2em 0 .4em"
REPLY = "border-left:3px solid var(--jp-brand-color1,#1976d2);padding-left:.8em;margin:.2em 0"
HEADINGS_STYLE = (
    "<style>.dataoorts-transcript .dataoorts-answer :is(h1,h2,h3,h4,h5,h6)"
    "{font-size:1.05em;font-weight:bold;margin:.6em 0 .3em}</style>"
)


def turn_footer(turn: dict) -> str:
    """One line about a turn: model, tokens, cost, and whether it was cached or trimmed."""
    dropped = turn.get("dropped")
    note = [f"{dropped} oldest turn{'s' if dropped != 1 else ''} not sent"] if dropped else []
    return footer_line(
        turn["model"], turn["usage"], turn["cost"], cached=turn.get("cached"), offline=turn.get("offline"), notes=note
    )


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
            lines += [
                "",
                f"[{i}] You:",
                turn["user"],
                "",
                f"[{i}] Llama:",
                turn["assistant"],
                f"-- {turn_footer(turn)}",
            ]
        return "\n".join(lines)

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .render import escape_text, to_html

        conv = self.conversation
        parts = [f'<div style="{TITLE}">{html.escape(_summary(conv))}</div>']
        if conv.system:
            parts.append(f'<div style="{ROLE}">System</div><div style="{USER}">{escape_text(conv.system)}</div>')
        for i, turn in enumerate(conv.turns, 1):
            parts.append(
                f'<div class="dataoorts-turn" style="margin-top:1em">'
                f'<div class="dataoorts-role" style="{ROLE}">You <span style="{FOOTER}">· turn {i}</span></div>'
                f'<div class="dataoorts-user" style="{USER}">{escape_text(turn["user"])}</div>'
                f'<div class="dataoorts-role" style="{ROLE}">Llama</div>'
                f'<div style="{REPLY}">{to_html(turn["assistant"])}{footer_html(turn_footer(turn))}</div></div>'
            )
        body = "".join(parts)
        return {
            "text/html": f'{HEADINGS_STYLE}<div class="dataoorts-transcript">{body}</div>',
            "text/markdown": to_markdown(conv),
            "text/plain": repr(self),
        }, {}


def to_markdown(conv) -> str:
    """A readable transcript (answers made safe, as in the cell's ``text/markdown``)."""
    from .response import markdown_literal
    from .safe_markdown import to_safe_markdown

    lines = [f"# {to_safe_markdown(_summary(conv))}", ""]
    if conv.system:  # more than a line goes below the label: a fence kept as code must start its line
        system = to_safe_markdown(conv.system)
        lines += [f"**System:** {system}", ""] if "\n" not in system else ["**System:**", "", system, ""]
    for i, turn in enumerate(conv.turns, 1):
        lines += [
            f"## [{i}] You",
            "",
            to_safe_markdown(turn["user"]),
            "",
            f"## [{i}] Llama",
            "",
            to_safe_markdown(turn["assistant"]),
            "",
            f"*{markdown_literal(turn_footer(turn))}*",
            "",
        ]
    return "\n".join(lines)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def to_json(conv) -> dict:
    """The conversation as data: the messages a next turn would send, then every turn in full."""
    turns = [{**turn, "time": _iso(turn["time"])} for turn in conv.turns]
    return {
        "conversation": conv.name,
        "system": conv.system,
        "messages": conv.messages(),
        "turns": turns,
        "cost": conv.cost,
    }


def export(conv, path) -> Path:
    """Write the transcript to ``path``: Markdown for ``.md``, JSON for ``.json``; returns the path."""
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise ValidationError(
            f"Cannot export to {path.name!r}: end the path with .md (a readable transcript) "
            "or .json (messages, parameters and usage)."
        )
    text = to_markdown(conv) if suffix == ".md" else json.dumps(to_json(conv), indent=2, ensure_ascii=False)
    try:
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise ValidationError(
            f"Could not write {path} ({exc.strerror or exc}): check the folder exists and is writable."
        ) from None
    return path
