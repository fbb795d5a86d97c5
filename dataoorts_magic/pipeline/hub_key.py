"""On JupyterHub, ``JUPYTERHUB_API_TOKEN`` as the key, for the Hub's own origin only (INTERFACE.md section 14).

A class gateway run as a JupyterHub service takes a student's Hub token as their bearer, so a
single-user server needs no key of its own; that token must never reach any other host.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from ..secret import Secret


def _origin(url: str) -> tuple:
    parts = urlsplit(url)
    return (
        parts.scheme.lower(),
        (parts.hostname or "").lower(),
        parts.port or {"http": 80, "https": 443}.get(parts.scheme),
    )


def hub_key(url, environ=os.environ):
    """``JUPYTERHUB_API_TOKEN`` when ``url`` has the scheme, host and port of the Hub (its public URL
    or its API URL, as JupyterHub tells a single-user server), else None: never for another host."""
    token = environ.get("JUPYTERHUB_API_TOKEN")
    try:
        hub = {_origin(environ[n]) for n in ("JUPYTERHUB_PUBLIC_HUB_URL", "JUPYTERHUB_API_URL") if environ.get(n)}
        here = _origin(url) if token and url else None
    except ValueError:  # a port that is not a number
        return None
    return Secret.of(token) if here and here[1] and here in hub else None
