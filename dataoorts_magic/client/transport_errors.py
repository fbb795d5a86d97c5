"""Failures with no usable HTTP answer (refused, timed out, dropped, TLS, a bad URL, headers past
the limits, an answer that cannot be parsed), as the errors kinds.

requests and urllib3 raise many exception types, some wrapping others; :func:`transport_error`
names the one thing that went wrong, where (host and port only, never the key), and whether the
retry policy should try again: connection problems yes, TLS, unusable URLs and broken headers no.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from ..errors import BadResponseError, ConfigError, ConnectionFailedError, LlamaError, RequestTimeoutError
from .envelope import short_message


def _where(url: str) -> str:
    try:
        parts = urlsplit(url)
        where = parts.hostname or "the endpoint"
        return f"{where}:{parts.port}" if parts.port else where
    except ValueError:
        return "the endpoint"


def _causes(exc: BaseException):
    """``exc`` and what it wraps (requests and urllib3 nest the real failure in args and ``reason``)."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 20:
        cur = todo.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        todo.extend(a for a in getattr(cur, "args", ()) if isinstance(a, BaseException))
        for name in ("reason", "__cause__", "__context__"):
            inner = getattr(cur, name, None)
            if isinstance(inner, BaseException):
                todo.append(inner)


def header_problem(exc: BaseException) -> str | None:
    """What was wrong with the answer's headers (too many, a line too long), or None."""
    for cause in _causes(exc):
        if isinstance(cause, http.client.LineTooLong):
            return "a response header line longer than 64 KiB"
        if isinstance(cause, http.client.HTTPException) and "more than" in str(cause) and "headers" in str(cause):
            return "more than 100 response headers"  # http.client's limit
    return None


def _timed_out(where: str, seconds: float, after: str = "") -> RequestTimeoutError:
    err = RequestTimeoutError(
        f"No whole answer from {where} within the {seconds:g} s timeout, which bounds the whole request{after}"
    )
    err.retryable = True
    return err


def deadline_error(url: str, deadline, after: str = "") -> RequestTimeoutError:
    """The whole exchange took longer than ``timeout`` (said as a socket read timeout is: one bound)."""
    return _timed_out(_where(url), deadline.seconds, after)


def unreadable(exc: BaseException, status: int, key) -> BadResponseError:
    """An answer whose parsing raised (too deeply nested, numbers too large, ...): one line."""
    what = "is nested too deeply to parse" if isinstance(exc, RecursionError) else f"raised {type(exc).__name__}"
    return BadResponseError(status=status, provider_message=short_message(f"its JSON {what}", key))


def transport_error(exc: Exception, url: str, key: str, read_timeout: float, after: str = "") -> LlamaError:
    """Translate a requests/urllib3 failure with no HTTP answer into our kinds (message redacted)."""
    where = _where(url)
    words = str(exc).lower()
    cause = exc.args[0] if isinstance(exc, requests.ConnectionError) and exc.args else None
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        err = ConnectionFailedError(f"Could not connect to {where} (connect timed out)")
    elif isinstance(exc, (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError)) or isinstance(
        cause, urllib3.exceptions.ReadTimeoutError
    ):
        return _timed_out(where, read_timeout, after)
    elif (headers := header_problem(exc)) is not None:
        return BadResponseError(
            f"The endpoint at {where} sent {headers}, past the limits of an HTTP answer",
            fix="Check DATAOORTS_API_URL points at the Dataoorts API (a proxy may be misbehaving).",
        )
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
