"""What a test needs to act as a user at a shell: the test key, running a cell, and all that was shown."""

from __future__ import annotations

import contextlib
import hashlib
import secrets

KEY = "sk-test-" + secrets.token_hex(12)
TRACEBACK = "Traceback (most recent call last)"  # what Python and IPython print above every traceback
KEY_FINGERPRINT = "bearer-sha256:" + hashlib.sha256(KEY.encode()).hexdigest()[:12]


def run(ip, source: str):
    """Run a cell as a user would; return (result, captured output)."""
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = ip.run_cell(source)
    return result, captured


def everything_shown(captured) -> str:
    """All text a user could see or save from a captured cell: streams, every mime type, metadata."""
    import json

    parts = [captured.stdout, captured.stderr]
    for out in captured.outputs:
        parts.append(json.dumps(out.data, default=str))
        parts.append(json.dumps(out.metadata, default=str))
    return "\n".join(parts)


@contextlib.contextmanager
def verbose_tracebacks(ip):
    """``%xmode Verbose`` inside the block (tracebacks print every frame's locals), the old mode after."""
    from IPython.utils.capture import capture_output

    mode = ip.InteractiveTB.mode
    with capture_output():
        ip.run_line_magic("xmode", "Verbose")
    try:
        yield
    finally:
        with capture_output():
            ip.run_line_magic("xmode", mode)


def fails_in_one_line(ip, source: str) -> str:
    """Run ``source`` under ``%xmode Verbose``, then ``%tb``, and check what a user sees of the failure.

    The cell failed with one ``UsageError`` line and no traceback, and the key
    appears nowhere: not in the cell's output, not in what ``%tb`` prints. Returns the line.
    """
    with verbose_tracebacks(ip):
        result, cap = run(ip, source)
        _, tb = run(ip, "%tb")
    shown = everything_shown(cap)
    assert not result.success, shown
    line = cap.stderr.strip()
    assert line.startswith("UsageError: ") and "\n" not in line, shown[-2000:]
    assert TRACEBACK not in shown and KEY not in shown
    assert KEY not in everything_shown(tb) and TRACEBACK not in everything_shown(tb)
    return line


def frames_holding(exc: BaseException, secret: str) -> list[str]:
    """Where ``secret`` would show in ``exc``'s traceback under ``%xmode Verbose`` (empty: nowhere).

    Walks the chain a traceback prints (causes, and contexts unless suppressed); in each frame
    of the package every local's repr, and the attributes of a local object one level down;
    and each exception's own attributes.
    """
    found, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for name, value in vars(exc).items():
            if secret in repr(value):
                found.append(f"{type(exc).__name__}.{name}")
        tb = exc.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if "dataoorts_magic" not in frame.f_code.co_filename:
                tb = tb.tb_next
                continue
            where = f"{frame.f_code.co_name} ({frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno})"
            for name, value in frame.f_locals.items():
                inner = getattr(value, "__dict__", None)
                if secret in repr(value) or (isinstance(inner, dict) and secret in repr(inner)):
                    found.append(f"{where}: {name}")
            tb = tb.tb_next
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return found
