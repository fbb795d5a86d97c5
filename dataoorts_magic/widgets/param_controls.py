"""One parameter's controls in the panel: a slider (a number box for seed) and its "set" toggle.

Built from the parameter table: the parameter's name is the description, the chosen model's
range the bounds. max_tokens is always sent and has no toggle. For the others, the toggle
on means the panel sends the value; off means it does not, and the control rests on the
value that applies instead: the session's setting, else the documented default, else a
neutral value where the server's default is undocumented (display only). Moving the
control turns its toggle on; turning the toggle off puts the control back to rest.
"""

from __future__ import annotations

import ipywidgets as W

from ..params import PARAMS, param_range, supported
from . import layout

ALWAYS_SENT = ("max_tokens",)
# Where an unset control rests when the server's default is undocumented: values that change nothing.
NEUTRAL = {"top_p": 1.0, "top_k": 50, "repetition_penalty": 1.0}


class ParamControl:
    """One parameter: a slider (a number box for seed) and, unless always sent, a "set" toggle."""

    def __init__(self, name: str, value, model: str, applies):
        p = PARAMS[name]
        self.name, self._applies, self._quiet = name, applies, False
        low, high = param_range(name, model)
        common = dict(min=low, max=high, description=name, tooltip=p.help, style=layout.LABEL, layout=layout.fill())
        if name == "seed":
            self.input = W.BoundedIntText(**common)
        elif p.type is int:
            self.input = W.IntSlider(continuous_update=False, **common)
        else:
            self.input = W.FloatSlider(step=0.01, readout_format=".2f", continuous_update=False, **common)
        self.toggle = None
        if name not in ALWAYS_SENT:
            self.toggle = W.Checkbox(
                False,
                description="set",
                indent=False,
                layout=layout.end(),
                tooltip="send this value; off: the session setting or the server's default applies",
            )
            self.input.observe(self._moved, names="value")
            self.toggle.observe(self._toggled, names="value")
        self._show(value)
        last = self.toggle or W.Label(
            "always sent", tooltip="max_tokens is sent with every request", layout=layout.end()
        )
        self.row = layout.row([self.input, last])

    @property
    def is_set(self) -> bool:
        return self.toggle is None or self.toggle.value

    def flag(self):
        """The value the panel sends, or None (not sent by the panel)."""
        if not self.is_set or self.input.disabled:
            return None
        value = self.input.value
        return int(value) if PARAMS[self.name].type is int else round(float(value), 6)

    def _resting(self):
        value = self._applies(self.name)
        if value is None:
            value = PARAMS[self.name].default
        if value is None:
            value = NEUTRAL.get(self.name, self.input.min)
        return value

    def _show(self, value) -> None:
        """Show ``value`` (or the resting value) without turning the toggle on."""
        value = self._resting() if value is None else value
        self._quiet = True
        try:
            self.input.value = min(max(value, self.input.min), self.input.max)
        finally:
            self._quiet = False

    def _moved(self, change) -> None:
        if not self._quiet:
            self.toggle.value = True

    def _toggled(self, change) -> None:
        if not change["new"]:
            self._show(None)

    def refresh(self) -> None:
        """An unset control follows the session, so it shows the value a request will use."""
        if not self.is_set:
            self._show(None)

    def set_model(self, model: str) -> None:
        """Take ``model``'s range; a parameter the model does not document is switched off."""
        low, high = param_range(self.name, model)
        w = self.input
        self._quiet = True
        try:
            if low > w.max:
                w.max, w.min = high, low
            else:
                w.min, w.max = low, high
        finally:
            self._quiet = False
        ok = self.toggle is None or supported(self.name, model)
        w.disabled = not ok
        if self.toggle is not None:
            self.toggle.disabled = not ok
            if not ok:
                self.toggle.value = False
