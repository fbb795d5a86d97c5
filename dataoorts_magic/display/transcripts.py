"""A chat shown as a transcript, by its two doors: ``%llama_history NAME`` and the panel's saved copy.

One ``Transcript`` renders both, with one user turn and one answer turn: the role labels
(larger than anything inside an answer, whose own headings are brought down to the text's
size), the user's words as text (escaped and defanged by ``styles.text_html``, never code),
each answer set in by a rule in the theme's brand colour, and under it the footer line of
``display/footer.py``. A conversation shown again also exports to .md or .json.

Pure functions and display objects: nothing here sends, logs or touches the shell. Answers
render through ``render`` (sanitized HTML) and ``safe_markdown`` (safe Markdown), so a
transcript is as safe as the cells that made it.

The panel's saved copy is what a saved notebook keeps when widget state is not saved (widget
views need it, ipywidgets#3331); it sits in a collapsed ``<details>`` so it does not repeat the
live panel on screen. Reopened without widget state, JupyterLab (and Notebook 7) would still
pick the widget view over any fallback (its renderer outranks text/html in a trusted notebook,
and a notebook it saved is trusted), find no model and print "Error displaying widget: model
not found" above this copy. ``NOT_LIVE_STYLE`` hides exactly that output: JupyterLab gives the
output the class ``jupyter-widgets`` only when the view failed (a live view is a child of it),
and the rule matches it only when this transcript comes right after it; the summary's hint to
run the cell again shows unless a live panel is right above. Where ``<style>`` is stripped (an
untrusted notebook) the front end never renders the widget view: no error to hide, and the hint
is true there too.
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
TITLE = "font-weight:bold;font-size:1.25em;margin-bottom:.3em"
ROLE = "font-weight:bold;font-size:1.15em;margin-top:.6em"
USER = "white-space:pre-wrap;margin:.2em 0 .4em"
REPLY = "border-left:3px solid var(--jp-brand-color1,#1976d2);padding-left:.8em;margin:.2em 0"
HEADINGS_STYLE = (
    "<style>.dataoorts-transcript .dataoorts-answer :is(h1,h2,h3,h4,h5,h6)"
    "{font-size:1.05em;font-weight:bold;margin:.6em 0 .3em}</style>"
)
NEW_CHAT = "New chat"  # where the panel's saved copy marks that New chat was pressed
NOT_LIVE_STYLE = (
    "<style>.jp-OutputArea-child:has(> .jp-OutputArea-output.jupyter-widgets)"
    ":has(+ .jp-OutputArea-child .dataoorts-panel-transcript){display:none}"
    ".jp-OutputArea-child:has(> .jp-OutputArea-output > .jupyter-widgets) + .jp-OutputArea-child "
    ".dataoorts-reopen-hint{display:none}</style>"
)
REOPEN_HINT = '<span class="dataoorts-reopen-hint">; run the cell to open the live panel again</span>'


# --- one user turn, one answer turn --------------------------------------------------------------
def user_turn_html(prompt: str, note: str = "") -> str:
    """The user's words under the label ``You:``: escaped and defanged text in the text font, never markup."""
    from .styles import text_html  # MathJax typesets this HTML: javascript:/data: broken, as in answers

    aside = f' <span style="{FOOTER};font-weight:normal">{html.escape(note)}</span>' if note else ""
    return (
        f'<div class="dataoorts-prompt" style="margin-top:.6em"><div class="dataoorts-role" style="{ROLE}">'
        f'You:{aside}</div> <div class="dataoorts-user" style="{USER}">{text_html(prompt)}</div></div>'
    )


def answer_turn_html(answer_html: str) -> str:
    """An answer (sanitized HTML ending in its footer line) under the label ``Llama:``, set in by a rule."""
    return f'<div class="dataoorts-role" style="{ROLE}">Llama:</div><div style="{REPLY}">{answer_html}</div>'


class UserTurn:
    """The user's prompt as a display of its own (the live panel shows it above the answer)."""

    def __init__(self, prompt: str):
        self.prompt = prompt

    def _repr_html_(self) -> str:
        return user_turn_html(self.prompt)

    def __repr__(self) -> str:
        return f"You: {self.prompt}"


class AnswerTurn:
    """A ``LlamaResponse`` as an answer turn: its own bundle and metadata, its HTML under the label."""

    def __init__(self, response):
        self.response = response

    def _repr_mimebundle_(self, include=None, exclude=None):
        data, metadata = self.response._repr_mimebundle_()
        turn = f'{HEADINGS_STYLE}<div class="dataoorts-transcript">{answer_turn_html(data["text/html"])}</div>'
        return {**data, "text/html": turn}, metadata  # the answer's headings stay below its label, as in a transcript


def _bundle(obj) -> dict:
    """One display_data output of ``obj`` (our own display objects: a mime bundle, or HTML and text)."""
    if hasattr(obj, "_repr_mimebundle_"):
        data, metadata = obj._repr_mimebundle_()
    else:
        data, metadata = {"text/html": obj._repr_html_(), "text/plain": repr(obj)}, {}
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def newest_first(outputs, prompt: str, response) -> tuple:
    """An Output widget's outputs with this turn put on top: the newest answer lands right under the
    panel's Send button, not below every earlier one."""
    return (_bundle(UserTurn(prompt)), _bundle(AnswerTurn(response)), *outputs)


# --- a conversation's turn (a dict kept by the conversation store) --------------------------------
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


def _answers(n: int) -> str:
    return f"{n} answer" + ("" if n == 1 else "s")


class Transcript:
    """A chat turn by turn, with each answer's usage; plain text in a terminal.

    ``source`` is a conversation (``%llama_history NAME``: its title, system prompt and turns) or
    the panel's turns, ``(prompt, response)`` in the order they were asked with a None where New
    chat was pressed (the saved copy keeps the turns before it too, marked)."""

    def __init__(self, source):
        self.conversation = source if hasattr(source, "turns") else None
        self.turns = list(source if self.conversation is None else source.turns)
        self.answered = [t for t in self.turns if t is not None]

    def _turns_html(self) -> str:
        from .render import to_html

        parts = []
        for i, turn in enumerate(self.turns, 1):
            if turn is None:
                parts.append(f'<hr><div class="dataoorts-new-chat" style="{FOOTER}">{NEW_CHAT}</div>')
                continue
            if isinstance(turn, dict):  # a conversation's turn: the answer's text, then its footer line
                prompt, note, answer = turn["user"], f"· turn {i}", to_html(turn["assistant"])
                answer += footer_html(turn_footer(turn))
            else:  # the panel's (prompt, LlamaResponse): the answer renders itself, footer and all
                prompt, note, answer = turn[0], "", turn[1]._repr_mimebundle_()[0]["text/html"]
            parts.append(f'<div class="dataoorts-turn">{user_turn_html(prompt, note)}{answer_turn_html(answer)}</div>')
        return "".join(parts)

    def _repr_html_(self) -> str:
        conv = self.conversation
        if conv is None:  # the panel's saved copy, folded away under its summary
            body = self._turns_html() if self.answered else "<em>No answers yet.</em>"
            return (
                '<details class="dataoorts-panel-transcript"><summary>dataoorts-magic panel transcript '
                f"({_answers(len(self.answered))}; a static copy for the saved notebook{REOPEN_HINT})</summary>"
                f'{HEADINGS_STYLE}<div class="dataoorts-transcript">{body}</div></details>{NOT_LIVE_STYLE}'
            )
        from .styles import text_html

        head = f'<div style="{TITLE}">{html.escape(_summary(conv))}</div>'
        if conv.system:
            system = text_html(conv.system)
            head += f'<div class="dataoorts-role" style="{ROLE}">System</div><div style="{USER}">{system}</div>'
        return f'{HEADINGS_STYLE}<div class="dataoorts-transcript">{head}{self._turns_html()}</div>'

    def __repr__(self) -> str:
        conv = self.conversation
        if conv is None:
            lines = [f"dataoorts-magic panel transcript ({_answers(len(self.answered))})"]
        else:
            lines = [_summary(conv)] + ([f"System: {conv.system}"] if conv.system else [])
        for i, turn in enumerate(self.turns, 1):
            if turn is None:
                lines += [f"-- {NEW_CHAT} --", ""]
            elif isinstance(turn, dict):
                lines += ["", f"[{i}] You:", turn["user"], "", f"[{i}] Llama:", turn["assistant"]]
                lines.append(f"-- {turn_footer(turn)}")
            else:
                lines += [f"You: {turn[0]}", turn[1]._repr_mimebundle_()[0]["text/plain"], ""]
        return "\n".join(lines)

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"text/html": self._repr_html_(), "text/plain": repr(self)}
        if self.conversation is not None:
            data["text/markdown"] = to_markdown(self.conversation)
        return data, {}


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
