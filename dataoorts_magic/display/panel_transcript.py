"""The panel's transcript as ordinary output: what a saved notebook keeps when widget state is not saved.

Widget views need the widget state, which a saved notebook often lacks (ipywidgets#3331), so
the panel also keeps a plain display of its turns up to date: the user's prompts escaped as
text, each answer as ``LlamaResponse`` renders itself (sanitized HTML, footer with usage and cost).
It sits in a collapsed ``<details>`` so it does not repeat the live panel on screen.

Reopened without widget state, JupyterLab (and Notebook 7) would still pick the widget view
over any fallback in the same output (its renderer outranks text/html in a trusted notebook,
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

from .styles import FOOTER

NOT_LIVE_STYLE = (
    "<style>.jp-OutputArea-child:has(> .jp-OutputArea-output.jupyter-widgets)"
    ":has(+ .jp-OutputArea-child .dataoorts-panel-transcript){display:none}"
    ".jp-OutputArea-child:has(> .jp-OutputArea-output > .jupyter-widgets) + .jp-OutputArea-child "
    ".dataoorts-reopen-hint{display:none}</style>"
)
REOPEN_HINT = '<span class="dataoorts-reopen-hint">; run the cell to open the live panel again</span>'


def _answers(n: int) -> str:
    return f"{n} answer" + ("" if n == 1 else "s")


class UserTurn:
    """The user's prompt in the transcript: escaped text, never markup."""

    def __init__(self, prompt: str):
        self.prompt = prompt

    def _repr_html_(self) -> str:
        return (
            '<div class="dataoorts-prompt" style="margin-top:.6em;white-space:pre-wrap">'
            f"<strong>You:</strong> {html.escape(self.prompt)}</div>"
        )

    def __repr__(self) -> str:
        return f"You: {self.prompt}"


NEW_CHAT = "New chat"  # where the saved copy marks that New chat was pressed


def _bundle(obj) -> dict:
    """One display_data output of ``obj`` (our own display objects: a mime bundle, or HTML and text)."""
    if hasattr(obj, "_repr_mimebundle_"):
        data, metadata = obj._repr_mimebundle_()
    else:
        data, metadata = {"text/html": obj._repr_html_(), "text/plain": repr(obj)}, {}
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def newest_first(outputs, *turn) -> tuple:
    """An Output widget's outputs with ``turn`` (its displays, in order) put on top: the newest answer
    lands right under the panel's Send button, not below every earlier one."""
    return (*(_bundle(obj) for obj in turn), *outputs)


class Transcript:
    """The panel's turns as ordinary output, so a saved notebook keeps them without widget state.

    ``turns`` are ``(prompt, response)`` in the order they were asked; a None marks where New chat
    was pressed (the saved copy keeps the turns before it too)."""

    def __init__(self, turns):
        self.turns = list(turns)
        self.answered = [t for t in self.turns if t is not None]

    def _repr_html_(self) -> str:
        parts = []
        for turn in self.turns:
            if turn is None:
                parts.append(f'<hr><div class="dataoorts-new-chat" style="{FOOTER}">{NEW_CHAT}</div>')
                continue
            prompt, response = turn
            parts.append(UserTurn(prompt)._repr_html_())
            parts.append(response._repr_mimebundle_()[0]["text/html"])
        body = "".join(parts) if self.answered else "<em>No answers yet.</em>"
        return (
            '<details class="dataoorts-panel-transcript"><summary>dataoorts-magic panel transcript '
            f"({_answers(len(self.answered))}; a static copy for the saved notebook{REOPEN_HINT})</summary>{body}"
            f"</details>{NOT_LIVE_STYLE}"
        )

    def __repr__(self) -> str:
        lines = [f"dataoorts-magic panel transcript ({_answers(len(self.answered))})"]
        for turn in self.turns:
            if turn is None:
                lines += [f"-- {NEW_CHAT} --", ""]
                continue
            prompt, response = turn
            lines += [f"You: {prompt}", response._repr_mimebundle_()[0]["text/plain"], ""]
        return "\n".join(lines)
