"""The magic boundary: the package's errors become the one-line ``UsageError`` IPython shows.

IPython prints a ``UsageError`` as one line with no traceback (it checks the type exactly,
so a subclass would print a traceback), and the cell still fails, so "Run All" stops.
"""

from __future__ import annotations

from contextlib import contextmanager

from IPython.core.error import UsageError

from ..errors import LlamaError, one_line


@contextmanager
def one_line_errors():
    """Turn a ``LlamaError`` raised inside the block into a one-line ``UsageError``."""
    try:
        yield
    except LlamaError as err:
        raise UsageError(one_line(err)) from None
