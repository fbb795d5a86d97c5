"""What an endpoint URL says about where the key goes: this machine, or the network in clear text.

A loopback endpoint (``localhost``, 127.0.0.0/8, ``::1``) is reached directly, past any proxy;
any other endpoint should be https, or the key and the prompts travel unencrypted. Pure.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a name or an address, no port) is this machine."""
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or bool(getattr(ip, "ipv4_mapped", None) and ip.ipv4_mapped.is_loopback)


def insecure_endpoint_warning(url: str) -> str | None:
    """A one-line warning when ``url`` is not https and not on this machine, else None."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "https" or is_loopback(parts.hostname):
        return None
    return (
        f"the endpoint {parts.scheme or '(no scheme)'}://{parts.hostname or url} is not https: the API key "
        "and your prompts travel unencrypted. Use an https:// DATAOORTS_API_URL."
    )
