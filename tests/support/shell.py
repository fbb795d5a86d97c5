"""What a test needs to act as a user at a shell: the test key, running a cell, and all that was shown."""

from __future__ import annotations

import hashlib
import secrets

KEY = "sk-test-" + secrets.token_hex(12)
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
