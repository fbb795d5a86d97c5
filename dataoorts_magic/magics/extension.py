"""Register the magics with IPython and take them away again (``%load_ext`` / ``%unload_ext``).

Called from the package's ``load_ipython_extension`` (imported there inside the function, so
``import dataoorts_magic`` alone stays cheap).
"""

from __future__ import annotations

from . import question_mark
from .account_magics import LlamaAccountMagics
from .explain import LlamaExplainMagics
from .history_magics import LlamaHistoryMagics
from .llama import LlamaMagics
from .panel_magic import LlamaPanelMagics
from .settings_magics import LlamaSettingsMagics

# The magics around %%llama, one class per topic; each works on the session of LlamaMagics.
TOPICS = (LlamaSettingsMagics, LlamaHistoryMagics, LlamaAccountMagics, LlamaExplainMagics, LlamaPanelMagics)
NAMES = ("LlamaMagics", *(topic.__name__ for topic in TOPICS))


def load(ipython) -> None:
    """Register the magics (``Magics.__init__`` already makes them reachable by %config)."""
    core = LlamaMagics(shell=ipython)
    ipython.register_magics(core, *(topic(shell=ipython, core=core) for topic in TOPICS))
    question_mark.install(ipython)  # "%llama What is AI?" is a prompt, not a help request


def unload(ipython) -> None:
    """Remove what ``load`` registered, so %reload_ext leaves no duplicates."""
    question_mark.uninstall(ipython)
    manager = ipython.magics_manager
    mine = [m for m in (manager.registry.pop(name, None) for name in NAMES) if m]
    for table in manager.magics.values():
        for name in [n for n, fn in table.items() if getattr(fn, "__self__", None) in mine]:
            del table[name]
    ipython.configurables[:] = [c for c in ipython.configurables if c not in mine]
    for magics in mine:
        magics.close()
