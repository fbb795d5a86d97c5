"""What an endpoint URL says about where the key goes: this machine, or the network in clear text.

A loopback endpoint (``localhost``, 127.0.0.0/8, ``::1``) is reached directly, past any proxy;
any other endpoint should be https, or the key and the prompts travel unencrypted. A URL that
cannot be sent to at all (``http://[::1``, no host, another scheme) is refused when it is set
(:func:`url_problem`), not by a traceback at the first request. Pure.
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
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is loopback too
    return ip.is_loopback or bool(mapped is not None and mapped.is_loopback)


def url_problem(url: str) -> str | None:
    """What makes ``url`` unusable as the endpoint, as words following "it", or None."""
    if not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "is empty or has spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port that is not a number from 0 to 65535
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return "does not start with https:// (or http:// for this machine)"
    if not parts.hostname:
        return "has no host name"
    if port == 0:
        return "has port 0"
    return None


def insecure_endpoint_warning(url: str) -> str | None:
    """A one-line warning when ``url`` is not https and not on this machine, else None."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "https" or is_loopback(parts.hostname):
        return None
    return (
        f"the endpoint {parts.scheme or '(no scheme)'}://{parts.hostname or url} is not https: the API key "
        "and your prompts travel unencrypted. Use an https:// DATAOORTS_API_URL."
    )
