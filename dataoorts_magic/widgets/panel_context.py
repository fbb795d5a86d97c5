"""The panel's "Include my last cells": the notebook's last cells before the prompt, as ``%%llama -x`` sends them.

The panel is no cell, so its context is the last ``context_cells`` cells run (``-1`` is the
latest); the block, its trimming to the model's window and its note are those of ``-x``
(``prompting.notebook_context``).
"""

from __future__ import annotations

from ..pipeline.conversations import estimate_tokens
from ..pipeline.settings import read_key
from ..prompting import cell_record
from ..prompting.notebook_cells import NotebookCells
from ..prompting.notebook_context import for_settings


def context_cells(session) -> int:
    return session.effective()["context_cells"]


def with_last_cells(session, shell, prompt: str, flags: dict) -> tuple[str, str | None]:
    """``(the prompt with the last cells before it, a note or None)`` for a Send with the toggle on."""
    eff = session.effective(flags)
    cells = NotebookCells(shell, cell_record.for_shell(shell), read_key(session._key))
    return for_settings(prompt, cells, eff["context_cells"], eff, system=eff["system"], estimate=estimate_tokens)
