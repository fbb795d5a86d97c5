"""The panel's layout: one label column, controls that use the row's width, buttons at the row's end.

ipywidgets gives every control a fixed width (``--jp-widgets-inline-width``, 300 px, label
included), so a slider's track is about 75 px whatever the panel's width, and each kind of
control has its own label width. Here every labelled control shares ``LABEL_WIDTH``, takes the
rest of its row (``fill``), and ends where the others end; the last column (``end``) holds each
parameter's "set" toggle, with a gap before it. The less-used parameters sit in a section that
opens in place (``Section``) rather than an Accordion, whose padded frame would push their
labels out of the column. Only Layout traits are used: no CSS, so it reads the same in
JupyterLab (light or dark), Notebook 7 and VS Code.
"""

from __future__ import annotations

import ipywidgets as W

LABEL_WIDTH = "140px"  # fits the longest parameter name, repetition_penalty
LABEL = {"description_width": LABEL_WIDTH}
END_WIDTH = "7em"  # the column of "set" toggles (and max_tokens' "always sent")
GAP = "12px"


def fill(**extra) -> W.Layout:
    """A control that takes what its row has left."""
    return W.Layout(flex="1 1 auto", width="auto", **extra)


def wide(**extra) -> W.Layout:
    """A control on a row of its own, as wide as the panel (its margins inside the panel, not past it)."""
    return W.Layout(width="auto", **extra)


def end(**extra) -> W.Layout:
    """The last column of a parameter row, a gap away from the control."""
    return W.Layout(flex="0 0 auto", width=END_WIDTH, margin=f"0 0 0 {GAP}", **extra)


def row(children) -> W.HBox:
    return W.HBox(list(children), layout=W.Layout(width="100%", align_items="center"))


def button_row(start, finish) -> W.HBox:
    """``start`` at the row's start, ``finish`` grouped at its end."""
    return W.HBox(
        [W.HBox(list(start), layout=W.Layout(align_items="center")), W.HBox(list(finish))],
        layout=W.Layout(width="100%", justify_content="space-between", align_items="center", margin="6px 0 0 0"),
    )


class Section:
    """A titled group of rows that opens in place (``toggle`` shows or hides ``box``), starting closed."""

    def __init__(self, title: str, rows, tooltip: str = ""):
        self.toggle = W.ToggleButton(
            False, description=title, icon="caret-right", tooltip=tooltip, layout=W.Layout(width="auto")
        )
        self.box = W.VBox(list(rows), layout=W.Layout(width="100%", display="none"))
        # Where labelled controls start: ipywidgets puts 2 px around a widget and 8 px after its label.
        heading = W.HBox([self.toggle], layout=W.Layout(margin=f"2px 0 2px calc({LABEL_WIDTH} + 8px)"))
        self.widget = W.VBox([heading, self.box], layout=W.Layout(width="100%"))
        self.toggle.observe(self._switched, names="value")

    def _switched(self, change) -> None:
        self.box.layout.display = None if change["new"] else "none"
        self.toggle.icon = "caret-down" if change["new"] else "caret-right"
