"""A DataFrame's rows as ``--over`` items, without building a pandas Series per row.

``frame.iloc[i]`` builds a Series for each row (a copy of the row, tens of microseconds) and
printing one into a prompt costs a millisecond more: 100,000 rows took 90 s before the first
request. Here each column is read once, as a Python list; a :class:`Row` is a position into
those lists: a read-only mapping of column -> value (``{title}``, ``{item.title}``,
``{item['title']}``) whose ``str()`` is the compact table a row Series gives in a prompt
(:func:`~dataoorts_magic.prompting.frame_markdown.row_to_markdown`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..prompting.frame_markdown import row_to_markdown


class FrameRows(Sequence):
    """The rows of ``frame`` as :class:`Row` items; memory for the values, not per-row copies."""

    def __init__(self, frame):
        self.columns = list(frame.columns)
        self.values = [frame.iloc[:, k].tolist() for k in range(len(self.columns))]
        self.position = {name: k for k, name in enumerate(self.columns)}  # a repeated name: its last column
        self.labels = list(frame.index)
        # A row Series has one dtype for all its cells (object when the columns differ): the same for every row.
        self.dtype = str(frame.iloc[0].dtype) if len(frame) and len(self.columns) else "object"
        self.index_name = ", ".join(str(n) for n in frame.columns.names if n is not None)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [Row(self, k) for k in range(len(self))[i]]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return Row(self, i % len(self))


class Row(Mapping):
    """One row: ``row["title"]`` or ``row.title`` is its value; ``str(row)`` the table for a prompt."""

    __slots__ = ("_rows", "_i")

    def __init__(self, rows: FrameRows, i: int):
        self._rows, self._i = rows, i

    def __getitem__(self, name):
        return self._rows.values[self._rows.position[name]][self._i]

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except (KeyError, TypeError):
            raise AttributeError(name) from None

    def __iter__(self):
        return iter(self._rows.position)

    def __len__(self) -> int:
        return len(self._rows.position)

    @property
    def name(self):
        """The row's index label, as a row Series calls it (a column named ``name`` wins, as in pandas)."""
        return self["name"] if "name" in self._rows.position else self._rows.labels[self._i]

    def __str__(self) -> str:
        rows = self._rows
        values = [column[self._i] for column in rows.values]
        return row_to_markdown(rows.labels[self._i], rows.columns, values, rows.dtype, rows.index_name)

    def __repr__(self) -> str:
        return f"Row({self._rows.labels[self._i]!r}, {dict(self)!r})"
