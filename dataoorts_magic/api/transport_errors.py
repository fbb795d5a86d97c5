"""Failures with no HTTP answer (refused, timed out, dropped, TLS, a bad URL), as the errors kinds.

requests and urllib3 raise many exception types, some wrapping others; :func:`transport_error`
names the one thing that went wrong, where (host and port only, never the key), and whether the
retry policy should try again: connection problems yes, TLS and unusable URLs no.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from ..errors import ConfigError, ConnectionFailedError, LlamaError, RequestTimeoutError
from .envelope import short_message


def transport_error(exc: Exception, url: str, key: str, read_timeout: float, after: str = "") -> LlamaError:
    """Translate a requests/urllib3 failure with no HTTP answer into our kinds (message redacted)."""
    parts = urlsplit(url)
    where = parts.hostname or "the endpoint"
    if parts.port:
        where = f"{where}:{parts.port}"
    words = str(exc).lower()
    cause = exc.args[0] if isinstance(exc, requests.ConnectionError) and exc.args else None
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        err = ConnectionFailedError(f"Could not connect to {where} (connect timed out)")
    elif isinstance(exc, (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError)) or isinstance(
        cause, urllib3.exceptions.ReadTimeoutError
    ):
        err = RequestTimeoutError(f"No answer from {where} within the read timeout of {read_timeout:g} s{after}")
    elif isinstance(exc, (requests.exceptions.SSLError, urllib3.exceptions.SSLError)):
        err = ConnectionFailedError(
            f"TLS/certificate error talking to {where}",
            fix="Check DATAOORTS_API_URL; behind a proxy that inspects TLS, point REQUESTS_CA_BUNDLE at its CA.",
        )
        err.retryable = False
        return err
    elif isinstance(
        exc,
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidHeader,
        ),
    ):
        return ConfigError(
            short_message(f"The endpoint URL {url!r} is not usable ({type(exc).__name__})", key),
            fix="Set DATAOORTS_API_URL to https://cloud.dataoorts.com/api/v1 or your endpoint.",
        )
    elif (
        isinstance(exc, (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError))
        or after
        or any(w in words for w in ("remotedisconnected", "aborted", "reset by peer", "broken"))
    ):
        err = ConnectionFailedError(f"The connection to {where} dropped before the answer was complete{after}")
    elif isinstance(exc, (requests.RequestException, OSError)):
        reason = (
            "connection refused"
            if "refused" in words
            else "host name not found"
            if any(w in words for w in ("name or service", "nodename", "getaddrinfo", "name resolution"))
            else "proxy error"
            if isinstance(exc, requests.exceptions.ProxyError)
            else "network unreachable"
            if "unreachable" in words
            else type(exc).__name__
        )
        err = ConnectionFailedError(f"Could not connect to {where} ({reason})")
    else:
        return LlamaError(short_message(f"The request failed ({type(exc).__name__})", key))
    err.retryable = True
    return err
