"""The base of the topic magics (settings, history, account, explain, panel), IPython's way.

IPython keeps one ``*Magics`` class per topic (``IPython/core/magics/``); ours do the same. Each
topic class shares the settings traits and the session of ``LlamaMagics`` (its ``core``), so
``%llama_config`` and ``%config LlamaMagics`` change the same traits.
"""

from __future__ import annotations

from IPython.core.magic import Magics


class TopicMagics(Magics):
    """A group of ``%llama_*`` line magics that works on the session of ``core`` (a ``LlamaMagics``)."""

    def __init__(self, shell=None, core=None):
        super().__init__(shell=shell)
        self.core = core

    @property
    def llama_session(self):
        return self.core.llama_session

    def close(self) -> None:
        """Release what the topic holds (on %unload_ext); most hold nothing."""
