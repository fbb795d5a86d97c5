"""A ``--schema`` batch as data: one typed column per field, and a display that is a table of the fields.

``BatchResult`` delegates here when it has a schema. :func:`typed_frame` puts one column per
field beside the input columns (a DataFrame's columns, or ``item``): ``Int64`` for int,
``float64`` for float, ``boolean`` for bool, ``string`` for str, ``category`` (the allowed
values, in order) for choices, objects for lists and nested objects; missing values where an
item failed. Then ``error``, the tokens, cost and seconds of each item (both exchanges of a
re-asked one, also when it still failed). The display shows the first rows of fields,
every value escaped (``display.tables.Table``) and cut short.
"""

from __future__ import annotations

import html

from ..display.field_table import cell
from ..display.styles import footer_html
from ..display.tables import Table
from .runner import failed

DTYPES = {"int": "Int64", "float": "float64", "bool": "boolean", "str": "string"}


def paid(result) -> list:
    """What each item paid for: its answer, or the last answer of one that still did not match (else None)."""
    return [r if not failed(r) else getattr(r, "response", None) for r in result.results]


def _column(pd, field, values, index):
    """One field's values as a typed Series; a value that does not fit the type keeps the column as objects."""
    try:
        if field.kind == "enum":
            return pd.Series(pd.Categorical(values, categories=list(field.choices)), index=index)
        return pd.Series(values, index=index, dtype=DTYPES.get(field.kind, object))
    except (TypeError, ValueError):
        return pd.Series(values, index=index, dtype=object)


def typed_frame(result):
    import pandas as pd

    frame = result.input_frame()
    records = result.records
    answers = paid(result)

    def add(name, series):
        frame[name if name not in frame.columns else f"{name}_llama"] = series

    for field in result.schema.fields:
        add(field.name, _column(pd, field, [(rec or {}).get(field.name) for rec in records], frame.index))
    usage = [getattr(a, "usage", None) for a in answers]
    add("error", pd.Series([str(r) if failed(r) else None for r in result.results], index=frame.index, dtype="string"))
    for name in ("prompt_tokens", "completion_tokens"):
        add(name, pd.Series([getattr(u, name, None) for u in usage], index=frame.index, dtype="Int64"))
    for name in ("cost", "elapsed"):
        add(name, pd.Series([getattr(a, name, None) for a in answers], index=frame.index, dtype="float64"))
    return frame


def table(result, shown_rows: int) -> Table:
    """The first ``shown_rows`` items: label, each field, and the error when any item failed."""
    names = result.schema.names
    bad = any(failed(r) for r in result.results)
    rows = []
    for label, record, outcome in list(zip(result.labels, result.records, result.results, strict=True))[:shown_rows]:
        row = [cell(label, 30), *(cell((record or {}).get(n)) for n in names)]
        rows.append([*row, f"⚠ {cell(outcome)}" if failed(outcome) else ""] if bad else row)
    return Table(["", *(cell(n, 60) for n in names), *(["error"] if bad else [])], rows)


def plain(result, shown_rows: int) -> str:
    lines = [f"BatchResult over {len(result)} items, fields: {', '.join(result.schema.names)}"]
    lines.append(repr(table(result, shown_rows)))
    if result._more():
        lines.append(result._more())
    lines.append(f"-- {result.totals()}")
    return "\n".join(lines)


def html_table(result, shown_rows: int) -> str:
    more = f"<div>{html.escape(result._more())}</div>" if result._more() else ""
    return (
        f"<div class='dataoorts-batch dataoorts-records'>{table(result, shown_rows)._repr_html_()}</div>"
        f"{more}{footer_html(result.totals())}"
    )
