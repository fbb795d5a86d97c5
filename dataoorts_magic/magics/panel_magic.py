"""``%llama_panel``: opens the widget panel on the session (ipywidgets is imported only then)."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.display import display

from .topic import TopicMagics


@magics_class
class LlamaPanelMagics(TopicMagics):
    """``%llama_panel``."""

    @line_magic
    def llama_panel(self, line=""):
        """Open the widget panel: prompt, system prompt, model, every parameter, Send and the transcript.

        In [1]: %llama_panel

        Requests run off the kernel's main thread, so other cells still run. "Show as %%llama cell"
        shows the equivalent cell, focused to be copied. Below the panel, a plain copy of its transcript is kept up
        to date, so a saved notebook shows it even without widget state.
        ``dataoorts_magic.panel()`` returns the same panel from Python. Terminal IPython cannot
        show widgets: there both say so in one line and point to %%llama.
        """
        if line.strip():
            raise UsageError("%llama_panel takes no options: set defaults with %llama_config, then open it.")
        from ..widgets.panel import build_panel  # ipywidgets is imported only when a panel opens

        display(build_panel(self.llama_session, self.shell))  # the panel also shows its static transcript
