"""Structured answers (``--schema``) shown as a table of their fields: plain text and escaped HTML.

The values came from a model: they are cut short here and escaped by ``tables.Table``, whose
plain text and HTML both tables use. A list shows as its items joined, a nested object as
compact JSON. Used by ``LlamaResponse`` (one answer: a row per field) and by ``BatchResult``
(a row per item, a column per field).
"""

from __future__ import annotations

import json

from ..errors import clip
from .tables import Table

CELL_CHARS = 160  # characters of one value in a display; the data holds it whole


def cell(value, limit: int = CELL_CHARS) -> str:
    """One value as display text: '' for None, items joined for a list, JSON for an object, cut at ``limit``."""
    if value is None:
        text = ""
    elif isinstance(value, list) and all(not isinstance(v, (list, dict)) for v in value):
        text = ", ".join("" if v is None else str(v) for v in value)
    elif isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return clip(text, limit)


def field_table(data: dict) -> Table:
    """One answer's fields, a row each: field and value."""
    return Table(["field", "value"], [[cell(name, 60), cell(value)] for name, value in data.items()])
