"""Where the panel can be shown: a Jupyter front end, not terminal IPython.

Terminal IPython cannot show widgets, only their repr (``LlamaPanel(children=(Dropdown(…``),
so there ``%llama_panel`` and ``dataoorts_magic.panel()`` say in one line what to use instead.
A ``UsageError``: IPython prints it as that one line, from a magic or from plain Python.
"""

from __future__ import annotations

NEEDS_FRONT_END = (
    "The panel needs a Jupyter front end (JupyterLab, Notebook 7, VS Code); in terminal IPython "
    "ask with %%llama or %llama instead (%%llama? lists the options)."
)


def require_front_end(shell) -> None:
    """Raise the one-line ``UsageError`` in terminal IPython; elsewhere do nothing."""
    from IPython.core.error import UsageError

    from ..display.live_answer import is_terminal

    if shell is not None and is_terminal(shell):
        raise UsageError(NEEDS_FRONT_END)
