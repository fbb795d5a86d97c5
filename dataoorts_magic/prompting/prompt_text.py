"""The prompt as it is sent: the same clean-up for a cell body, a line and the panel's prompt box.

One function, so ``%%llama`` and the panel send the same bytes for the same text (the panel's
"Show as %%llama cell" relies on it).
"""

from __future__ import annotations


def cell_prompt(text: str) -> str:
    """The prompt as sent: trailing white space and leading blank lines dropped, indentation kept."""
    return text.rstrip().lstrip("\n")
