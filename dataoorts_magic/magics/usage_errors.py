"""The magic boundary: the package's errors become the one-line ``UsageError`` IPython shows.

IPython prints a ``UsageError`` as one line with no traceback (it checks the type exactly,
so a subclass would print a traceback), and the cell still fails, so "Run All" stops. A kernel
interrupt during a request or a retry wait is one line too: its traceback would run through
requests' frames, whose locals hold the request's headers (and so the key) under ``%xmode Verbose``.
"""

from __future__ import annotations

from contextlib import contextmanager

from IPython.core.error import UsageError

from ..errors import LlamaError, one_line


@contextmanager
def one_line_errors():
    """Turn a ``LlamaError`` or an interrupt raised inside the block into a one-line ``UsageError``."""
    try:
        yield
    except LlamaError as err:
        raise UsageError(one_line(err)) from None
    except KeyboardInterrupt:
        raise UsageError(INTERRUPTED) from None


INTERRUPTED = "interrupted: the request was stopped before its answer arrived; run the cell again to ask again."
