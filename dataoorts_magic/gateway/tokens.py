"""Student and admin tokens: made random, stored only as hashes, compared in constant time.

A token is 32 random bytes (``secrets.token_urlsafe``), so a plain SHA-256 is enough to store it:
nothing can be guessed from the hash of a value with 256 bits of entropy, and no salt or slow
hash is needed (those protect low-entropy passwords).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "dmg-"  # so a teacher can tell a gateway token from an account key at a glance


def new_token() -> str:
    """A fresh token to hand out once; only :func:`token_hash` of it is kept."""
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The stored form of a token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def same_hash(token: str, stored: str | None) -> bool:
    """Whether ``token`` hashes to ``stored``, compared in constant time."""
    return bool(stored) and hmac.compare_digest(token_hash(token), stored)


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <t>`` (or JupyterHub's ``token <t>``) header, or None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() not in ("bearer", "token") or not value or len(value) > 4096:
        return None
    return value
