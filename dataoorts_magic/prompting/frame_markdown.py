"""A pandas DataFrame or Series as a compact Markdown description for a prompt, and how to spot one.

pandas is never imported here: frames are recognised by their class (``pandas_kind``), so
code that only might meet a frame (interpolation, ``--over``) stays cheap to import.
"""

from __future__ import annotations

DEFAULT_MAX_ROWS = 10
DEFAULT_MAX_COLS = 20
DEFAULT_MAX_CELL = 60


def pandas_kind(obj: object) -> str | None:
    """``"DataFrame"`` or ``"Series"`` for pandas objects (subclasses too), else None."""
    for cls in type(obj).__mro__:
        if cls.__name__ in ("DataFrame", "Series") and cls.__module__.startswith("pandas"):
            if cls.__name__ == "DataFrame" and hasattr(obj, "dtypes") and hasattr(obj, "iloc"):
                return "DataFrame"
            if cls.__name__ == "Series" and hasattr(obj, "dtype") and hasattr(obj, "to_frame"):
                return "Series"
    return None


def frame_to_markdown(
    df,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_cols: int = DEFAULT_MAX_COLS,
    max_cell: int = DEFAULT_MAX_CELL,
) -> str:
    """A compact Markdown description of a DataFrame (or Series) for a prompt.

    Shape line, a ``columns: name (dtype), ...`` line, then a pipe table of the first
    ``max_rows`` rows and ``max_cols`` columns with the index as first column. Cells longer
    than ``max_cell`` characters are cut with "…" (before escaping); ``|`` becomes ``\\|`` and
    line breaks become ``\\n``. A last line says what was left out: ``… 40 more rows``.
    Does not need ``tabulate`` (``DataFrame.to_markdown`` does).
    """
    max_rows = max(0, int(max_rows))
    max_cols = max(1, int(max_cols))
    max_cell = max(1, int(max_cell))
    n_rows = len(df)
    if pandas_kind(df) == "Series":
        name = df.name
        title = "Series" if name is None else f"Series {_cell(name, max_cell)}"
        lines = [f"{title}: {_count(n_rows, 'row')}, dtype {df.dtype}"]
        df = df.to_frame(name="value" if name is None else name)
        n_cols = 1
    else:
        n_cols = df.shape[1]
        described = ", ".join(
            f"{_cell(col, max_cell)} ({dtype})"
            for col, dtype in zip(df.columns[:max_cols], df.dtypes.iloc[:max_cols], strict=True)
        )
        if n_cols > max_cols:
            described += f", … {n_cols - max_cols} more"
        lines = [
            f"DataFrame: {_count(n_rows, 'row')} × {_count(n_cols, 'column')}",
            f"columns: {described or '(none)'}",
        ]
    shown = df.iloc[:max_rows, :max_cols]
    index_names = [str(n) for n in df.index.names if n is not None]
    header = [_cell(", ".join(index_names), max_cell)] + [_cell(col, max_cell) for col in shown.columns]
    lines.append("")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for row in shown.itertuples(index=True, name=None):
        lines.append("| " + " | ".join(_cell(v, max_cell) for v in row) + " |")
    left_out = []
    if n_rows > max_rows:
        left_out.append(_count(n_rows - max_rows, "more row"))
    if n_cols > max_cols:
        left_out.append(_count(n_cols - max_cols, "more column"))
    if left_out:
        lines.append("")
        lines.append("… " + ", ".join(left_out))
    return "\n".join(lines)


def row_to_markdown(
    name, columns, values, dtype, index_name: str = "", max_rows=DEFAULT_MAX_ROWS, max_cell=DEFAULT_MAX_CELL
) -> str:
    """What :func:`frame_to_markdown` gives for a DataFrame row (``df.iloc[i]``, a Series named by
    the row's label), made from the row's column labels and values without building the Series."""
    n = len(columns)
    title = "Series" if name is None else f"Series {_cell(name, max_cell)}"
    header = _cell("value" if name is None else name, max_cell)
    lines = [f"{title}: {_count(n, 'row')}, dtype {dtype}", "", f"| {_cell(index_name, max_cell)} | {header} |"]
    lines.append("|---|---|")
    for column, value in zip(columns[:max_rows], values[:max_rows], strict=True):
        lines.append(f"| {_cell(column, max_cell)} | {_cell(value, max_cell)} |")
    if n > max_rows:
        lines += ["", "… " + _count(n - max_rows, "more row")]
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _cell(value: object, max_cell: int) -> str:
    """One table cell: cut to ``max_cell`` characters, then made safe inside a pipe row."""
    text = str(value)
    if len(text) > max_cell:
        text = text[: max_cell - 1] + "…"
    return text.replace("|", "\\|").replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
