"""The one fingerprint of what was sent: SHA-256 of canonical JSON.

A display's provenance records ``prompt_sha256`` (the messages) and the log keys its cache by
the whole request (model, messages, params); both must call two equal requests equal whatever
the order of their keys, so both use :func:`canonical_sha256`. hashlib is imported at first use.
"""

from __future__ import annotations

import json


def canonical_json(value) -> str:
    """``value`` as JSON with sorted keys, no spaces and text kept as typed (not ``\\u`` escapes)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical_sha256(value) -> str:
    """The hex SHA-256 of :func:`canonical_json` of ``value``."""
    import hashlib

    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
