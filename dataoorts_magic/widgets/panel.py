"""The widget panel: ``%llama_panel`` shows it, ``dataoorts_magic.panel()`` returns it.

Every parameter control is built from the parameter table, with the parameter's name as
its description, the chosen model's range (so max_tokens is bounded by the context
window) and, as its first value, the session's setting or the documented default.
Requests go through the one pipeline (``LlamaSession.request``, then ``.send``) in a worker thread so the
kernel stays free; from that thread widgets are touched only by setting traits or by
``Output.append_display_data`` (never ``with out:``), and every failure becomes one
line in the panel.

What is sent: the model, the system prompt and max_tokens always, as shown; every other
parameter only when its "set" toggle is on (``param_controls``); otherwise the session setting
(``%llama_config``) applies if there is one, else the server's default.

The panel's modules (this one and ``param_controls``) import ipywidgets at the top, so they
are imported only when a panel opens. They sit in ``widgets/``, not in a subpackage ``panel``:
importing a submodule ``dataoorts_magic.panel`` would replace the function ``dataoorts_magic.panel``.
"""

from __future__ import annotations

import threading
import time

import ipywidgets as W

from ..display.panel_transcript import Transcript, UserTurn, newest_first
from ..display.styles import error_html, footer_html
from ..errors import LlamaError, one_line
from ..params import PARAMS, format_cost, models
from ..pipeline.budget import Spending
from ..prompting.prompt_text import cell_prompt
from ..store.tally import ModelTally
from . import layout, panel_context, slider_names
from .cell_code import cell_code
from .front_end_check import require_front_end
from .param_controls import ParamControl

CHAT = "panel"  # the conversation the panel keeps: the same store as ``%%llama -c panel``
ADVANCED = ("top_k", "repetition_penalty", "frequency_penalty", "presence_penalty", "seed")
TICK = 0.2  # seconds between updates of the busy label
# What the button does: a button cannot reach the browser's clipboard (that needs the page's own
# script and the click itself), so it shows the cell, focused to be copied, and says so.
SHOW_CELL = "Show as %%llama cell"


def _inserts_now(shell) -> bool:
    """Whether ``set_next_input`` reaches the front end now. A kernel delivers it only in the reply
    to a cell's execution; from a button click (a comm message) it would wait for the next cell run
    and then appear under that cell, so the panel shows the code instead."""
    header = getattr(shell, "parent_header", None)
    return not isinstance(header, dict) or header.get("msg_type", "execute_request") == "execute_request"


class LlamaPanel(W.VBox):
    """The panel. Its controls are attributes, so code (and tests) drive it as a user would."""

    def __init__(self, session, shell=None):
        super().__init__(layout=W.Layout(width="100%"))
        self.session, self.shell = session, shell
        self.turns: list = []  # (prompt, response) in the transcript; New chat empties it
        self.saved_turns: list = []  # every turn for the saved copy, None where New chat was pressed
        self.tally = Spending()  # every answer of this panel (New chat keeps it)
        self.static_displays: list = []  # display handles of the static transcript copies
        self._busy = False
        eff = session.effective()
        self._build(eff)
        self._wire()

    # --- building ---------------------------------------------------------------------------
    def _build(self, eff: dict) -> None:
        options = [
            (
                f"{m.name} · ${m.input_usd_per_mtok:.2f} in / ${m.output_usd_per_mtok:.2f} out per M tokens"
                f" · {m.context_window:,} context",
                m.name,
            )
            for m in models().values()
        ]
        if eff["model"] not in models():
            options.insert(0, (f"{eff['model']} · price and limits unknown", eff["model"]))
        self.model_select = W.Dropdown(
            options=options, value=eff["model"], description="model", style=layout.LABEL, layout=layout.wide()
        )
        self.system_box = W.Textarea(
            eff["system"] or "",
            description="system",
            placeholder="System prompt (optional)",
            style=layout.LABEL,
            layout=layout.wide(),
        )
        self.prompt_box = W.Textarea(
            "",
            description="prompt",
            placeholder="Prompt",
            style=layout.LABEL,
            layout=layout.wide(height="6em"),
        )
        self.controls = {name: ParamControl(name, eff[name], eff["model"], self._session_value) for name in PARAMS}
        main = [c.row for name, c in self.controls.items() if name not in ADVANCED]
        self.advanced = layout.Section(
            "Advanced", [self.controls[name].row for name in ADVANCED], tooltip=", ".join(ADVANCED)
        )
        self.send_button = W.Button(description="Send", button_style="primary", icon="paper-plane")
        self.keep_toggle = W.Checkbox(
            False,
            description="keep conversation",
            indent=False,
            layout=W.Layout(width="auto", margin=f"0 0 0 {layout.GAP}"),
            tooltip=f'send earlier turns (conversation "{CHAT}", as %%llama -c {CHAT})',
        )
        self.context_toggle = W.Checkbox(
            False,
            description="Include my last cells",
            indent=False,
            layout=W.Layout(width="auto", margin=f"0 0 0 {layout.GAP}"),
            tooltip="send the last cells run (the context_cells setting) before the prompt, as %%llama -x",
        )
        self.new_chat_button = W.Button(
            description="New chat", tooltip="forget the conversation and clear the transcript"
        )
        self.copy_button = W.Button(
            description=SHOW_CELL, tooltip="show the equivalent %%llama cell, to copy", layout=W.Layout(width="auto")
        )
        self.error_line = W.HTML("")
        self.transcript = W.Output()
        self.totals_line = W.HTML(self._totals_html())
        self.code_note = W.HTML("")
        self.code_box = W.Textarea("", description="cell", style=layout.LABEL, layout=layout.wide(height="7em"))
        self.code_area = W.VBox([self.code_note, self.code_box], layout=W.Layout(display="none"))
        buttons = layout.button_row(
            [self.send_button, self.keep_toggle, self.context_toggle], [self.new_chat_button, self.copy_button]
        )
        self.children = [  # the newest answer first, right under Send (transcript.newest_first)
            self.model_select,
            self.system_box,
            self.prompt_box,
            *main,
            self.advanced.widget,
            buttons,
            self.error_line,
            self.code_area,
            self.totals_line,
            self.transcript,
        ]
        self.add_class("dataoorts-panel")
        for control in self.controls.values():
            control.set_model(eff["model"])

    def _wire(self) -> None:
        self.send_button.on_click(self._on_send)
        self.new_chat_button.on_click(self._on_new_chat)
        self.copy_button.on_click(self._on_copy)
        self.model_select.observe(self._on_model, names="value")

    def _session_value(self, name: str):
        return self.session.effective()[name]

    # --- what a request carries -------------------------------------------------------------
    def prompt(self) -> str:
        return cell_prompt(self.prompt_box.value)  # as a %%llama cell body would carry it

    def flags(self) -> dict:
        """The flags for ``LlamaSession.request``: model, system, format and every set parameter."""
        for control in self.controls.values():
            control.refresh()
        flags = {name: control.flag() for name, control in self.controls.items()}
        # "" (not None) when the box is empty, so an emptied box means no system prompt
        flags.update(model=self.model_select.value, system=self.system_box.value.strip("\n"), format="markdown")
        return flags

    def code(self) -> str:
        """The ``%%llama`` cell that sends what Send would send now (validated, nothing is sent)."""
        prompt = self.prompt()
        if not prompt.strip():
            raise LlamaError("The prompt is empty: type it in the Prompt box first.")
        req = self.session.request(prompt, self.flags())
        return cell_code(
            prompt,
            req.model,
            req.settings["system"],
            req.params,
            chat=CHAT if self.keep_toggle.value else None,
            context=panel_context.context_cells(self.session) if self.context_toggle.value else None,
            fmt=None if self.session.effective()["format"] == "markdown" else "markdown",
        )

    # --- callbacks (main thread: each one catches everything, or it would vanish) -----------
    def _on_send(self, _button=None) -> None:
        try:
            if self._busy:
                return
            prompt = self.prompt()
            if not prompt.strip():
                self._show_error("The prompt is empty: type it in the Prompt box.")
                return
            flags, keep = self.flags(), self.keep_toggle.value
            sent, note = prompt, None
            if self.context_toggle.value and self.shell is not None:  # read on the main thread, as cells are
                sent, note = panel_context.with_last_cells(self.session, self.shell, prompt, flags)
            self._show_error(note)
            self._set_busy(True)
            worker = threading.Thread(
                target=self._work, args=(prompt, flags, keep, sent), name="dataoorts-panel", daemon=True
            )
            worker.start()
        except Exception as err:
            self._set_busy(False)
            self._show_error(one_line(err))

    def _on_new_chat(self, _button=None) -> None:
        try:
            self.session.conversations.clear(CHAT)
            self.turns = []
            if self.saved_turns and self.saved_turns[-1] is not None:
                self.saved_turns.append(None)  # the saved copy keeps the earlier turns, marked
            self.transcript.outputs = ()
            self.code_box.value, self.code_area.layout.display = "", "none"  # that cell was for the old chat
            self._show_error(None)
            self._update_static()
        except Exception as err:
            self._show_error(one_line(err))

    def _on_copy(self, _button=None) -> None:
        try:
            text = self.code()
            inserted = self.shell is not None and _inserts_now(self.shell)
            if inserted:
                self.shell.set_next_input(text, replace=False)
            self.code_note.value = footer_html(
                "The equivalent cell, also written as the next input:"
                if inserted
                else "The equivalent cell (a button cannot reach the clipboard): the box has the focus, "
                "so Ctrl+A then Ctrl+C (⌘ on a Mac) copies it, to paste into a new cell."
            )
            self.code_box.value = text
            self.code_area.layout.display = None
            self.code_box.focus()
            self._show_error(None)
        except Exception as err:
            self._show_error(one_line(err))

    def _on_model(self, change) -> None:
        try:
            for control in self.controls.values():
                control.set_model(change["new"])
        except Exception as err:
            self._show_error(one_line(err))

    # --- the worker thread: traits and append_display_data only -----------------------------
    def _work(self, prompt: str, flags: dict, keep: bool, sent: str | None = None) -> None:
        started, done = time.monotonic(), threading.Event()
        ticker = threading.Thread(target=self._tick, args=(started, done), daemon=True)
        ticker.start()
        try:
            req = self.session.request(sent or prompt, flags, chat=CHAT if keep else None)
            req = req._replace(prompt=prompt)  # the conversation keeps the prompt: the cells go with this turn only
            response = self.session.send(req)
            self.turns = [*self.turns, (prompt, response)]
            self.saved_turns = [*self.saved_turns, (prompt, response)]
            self._count(response)
            self.transcript.outputs = newest_first(self.transcript.outputs, UserTurn(prompt), response)
            self.totals_line.value = self._totals_html()
            self._update_static()
        except BaseException as err:  # noqa: BLE001 - the panel must stay usable whatever happened
            self._show_error(one_line(err))
        finally:
            done.set()
            ticker.join()
            self._set_busy(False)

    def _tick(self, started: float, done: threading.Event) -> None:
        while not done.wait(TICK):
            self.send_button.description = f"Sending… {int(time.monotonic() - started)} s"

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.send_button.disabled = self.new_chat_button.disabled = busy
        self.send_button.description = "Sending… 0 s" if busy else "Send"
        self.send_button.icon = "hourglass-half" if busy else "paper-plane"

    def _show_error(self, line: str | None) -> None:
        self.error_line.value = "" if not line else (error_html(f"⚠ {line}", "span"))

    def _count(self, response) -> None:
        self.tally.settle(0.0, response.model, response.usage, response.cost)

    def _totals_html(self) -> str:
        t = ModelTally.total(self.tally.rows().values())
        n, unknown = t.requests, t.unknown_cost
        cost = format_cost(t.cost)
        if unknown:
            cost += f" + {unknown} answer{'s' * (unknown != 1)} of unknown cost"
        text = f"Totals: {n} request{'' if n == 1 else 's'} · {t.prompt_tokens} → {t.completion_tokens} tokens · {cost}"
        return footer_html(text, "dataoorts-totals")

    # --- the static copy --------------------------------------------------------------------
    def static_copy(self) -> Transcript:
        return Transcript(self.saved_turns)

    def _update_static(self) -> None:
        for handle in self.static_displays:
            handle.update(self.static_copy())

    def __repr__(self) -> str:
        """The text/plain of the widget's output: what a front end without widgets shows in its place."""
        return "dataoorts-magic panel (a live widget: run its cell in JupyterLab or Notebook to open it)"

    def _ipython_display_(self) -> None:
        """Show the widget and, below it, the plain transcript copy that a saved notebook keeps."""
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)
        self.static_displays.append(display(self.static_copy(), display_id=True))
        display(slider_names.bundle(), raw=True)  # after the copy: NOT_LIVE_STYLE needs it right below


def build_panel(session, shell=None) -> LlamaPanel:
    """The panel for ``session`` (built, wired, not displayed); ``shell`` receives Copy's cell.
    In terminal IPython it is one line pointing to ``%%llama`` instead (``front_end``)."""
    require_front_end(shell)
    return LlamaPanel(session, shell)
