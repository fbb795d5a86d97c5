"""How much of the package one plain ``%%llama`` cell runs through: modules and distinct functions.

Measured by tracing the code executed (``sys.settrace`` on the kernel's thread), not what is
imported: a frame of a function whose file is in the package counts its module and the function.
The cell runs against a loopback offline endpoint given as a remote one (URL and key), as a user's
cell against the real endpoint would; a first cell builds what a session builds once (client,
log), so the second, traced cell is the steady state. Printed: the counts, and with ``-v`` the
modules and functions.

Run: python benchmarks/trace_cell.py [-v] [CELL]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def trace(source: str) -> dict[str, set[str]]:
    """{module path: {function names}} of the package code that running ``source`` executed."""
    import dataoorts_magic

    root = str(Path(dataoorts_magic.__file__).resolve().parent)
    seen: dict[str, set[str]] = {}

    def tracer(frame, event, arg):
        if event == "call":
            path = frame.f_code.co_filename
            if path.startswith(root):
                name = f"{frame.f_code.co_qualname}:{frame.f_code.co_firstlineno}"
                seen.setdefault(os.path.relpath(path, root), set()).add(name)
        return None  # calls are enough: no line events

    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    ip = InteractiveShell.instance()
    with capture_output():
        sys.settrace(tracer)
        try:
            result = ip.run_cell(source)
        finally:
            sys.settrace(None)
    assert result.success, result.error_in_exec
    return seen


def main(argv: list[str]) -> None:
    verbose = "-v" in argv
    cells = [a for a in argv if a != "-v"]
    source = cells[0] if cells else "%%llama\nExplain a p-value in one sentence."
    os.environ["DATAOORTS_MAGIC_HOME"] = tempfile.mkdtemp(prefix="dataoorts-trace-")
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from dataoorts_magic.offline.server import OfflineServer

    key = "sk-trace-key"
    server = OfflineServer(api_key=key).start()
    os.environ.update(DATAOORTS_API_URL=server.url, DATAOORTS_API_KEY=key)
    ip = InteractiveShell.instance()
    with capture_output():
        ip.run_line_magic("load_ext", "dataoorts_magic")
        ip.run_cell("%%llama\nWarm up.")
    seen = trace(source)
    functions = sum(len(f) for f in seen.values())
    print(f"{source.splitlines()[0]!r}: {len(seen)} modules, {functions} distinct functions of the package")
    if verbose:
        for module in sorted(seen):
            print(f"  {module}: {', '.join(sorted(seen[module]))}")
    server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
