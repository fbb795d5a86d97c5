"""The HTTP client for the Dataoorts chat endpoint: pooled connections, timeouts, retries, errors.

Layers, as in requests: :func:`build_body` (pure) -> :meth:`DataoortsClient.chat` (the retry
loop) -> one HTTP exchange -> :func:`reply_from` (pure: an answer becomes a :class:`Reply` or one
of the :mod:`errors` kinds). The retry policy is the OpenAI Python SDK's: 2 retries, 0.5 s
doubling to 8 s with jitter, ``Retry-After`` honoured up to 60 s. The API key is a per-call
argument: it is sent only in the ``Authorization`` header, never stored on the client, and
scrubbed from any text a server sends back. Redirects are not followed, so the key never
leaves for another address. This module never imports IPython.
"""
from __future__ import annotations

import ipaddress
import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.util.retry import Retry

from . import __version__
from .errors import (CODE_ERRORS, BadResponseError, ConfigError, ConnectionFailedError, LlamaError,
                     MissingKeyError, ModelNotFoundError, RequestTimeoutError, error_class, redact)
from .stream import StreamFormatError, TextStream

DEFAULT_TIMEOUT = 120.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_POOL_MAXSIZE = 16
DEFAULT_POOL_CONNECTIONS = 4
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RETRY_CODES = frozenset({3040, 3007})  # out of capacity; the provider's own "timeout" (its 408)
NEVER_RETRY_CODES = frozenset(CODE_ERRORS) - RETRY_CODES  # auth, bad input, no model, too large, quota
MESSAGE_LIMIT = 200
USER_AGENT = f"dataoorts-magic/{__version__}"
_SLEEP_STEP = 0.05  # waits are cut in steps so a kernel interrupt stops them at once
_RETRY_HEADER = Retry(total=0)  # only for its Retry-After parser (seconds or an HTTP date)


@dataclass
class Reply:
    """One answer: the text, the usage as reported (None if not), and how the call went."""

    text: str
    usage: dict | None
    raw: dict
    status: int
    elapsed: float = 0.0
    retries: int = 0
    waited: float = 0.0
    notes: list[str] = field(default_factory=list)


def build_body(model: str, messages: list[dict], params: dict, stream: bool = False) -> dict:
    """The request body: parameters sit inside ``data`` beside ``messages``; only those given."""
    data = {"messages": messages, **{k: v for k, v in params.items() if v is not None and k != "stream"}}
    if stream:
        data["stream"] = True
    return {"model": model, "data": data}


def _is_loopback(host: str | None) -> bool:
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
    if parts.scheme.lower() == "https" or _is_loopback(parts.hostname):
        return None
    return (f"the endpoint {parts.scheme or '(no scheme)'}://{parts.hostname or url} is not https: the API key "
            "and your prompts travel unencrypted. Use an https:// DATAOORTS_API_URL.")


def should_retry(status: int | None, code: int | None) -> bool:
    """Whether an HTTP answer (status, provider code) is worth another try; the code decides first."""
    if code in RETRY_CODES:
        return True
    if code in NEVER_RETRY_CODES:
        return False
    return status in RETRY_STATUSES


def backoff_delay(retry: int, base: float = INITIAL_RETRY_DELAY, cap: float = MAX_RETRY_DELAY,
                  rand: Callable[[], float] = random.random) -> float:
    """Seconds before retry number ``retry`` (0-based): base doubling to cap, minus up to 25 % jitter."""
    return min(base * 2 ** retry, cap) * (1 - 0.25 * rand())


def retry_after_seconds(headers) -> float | None:
    """The wait a server asked for (``Retry-After`` seconds or HTTP date, or ``retry-after-ms``)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(_RETRY_HEADER.parse_retry_after(value))
    except urllib3.exceptions.InvalidHeader:
        return None


def normalize_usage(usage) -> dict | None:
    """``{"prompt_tokens", "completion_tokens", "total_tokens"}`` as ints, or None if not usable."""
    if not isinstance(usage, dict):
        return None

    def count(value):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 and value == int(value):
            return int(value)
        return None

    prompt, completion = count(usage.get("prompt_tokens")), count(usage.get("completion_tokens"))
    if prompt is None or completion is None:
        return None
    total = count(usage.get("total_tokens"))
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion if total is None else total}


def _short(text: str, key: str | None) -> str:
    text = " ".join((redact(str(text), key) or "").split())
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT - 1] + "…"


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _first_error(payload: dict) -> tuple[int | None, str | None]:
    """(code, message) of the first error in a Cloudflare-style (or OpenAI-style) envelope."""
    errors = payload.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else payload.get("error")
    if isinstance(first, dict):
        message = first.get("message")
        return _int(first.get("code")), None if message is None else str(message)
    return None, None if first in (None, "", [], {}) else str(first)


def _body_problem(content: bytes, content_type: str) -> str:
    """A few words about a body that is not a JSON object (never the whole page)."""
    if not content.strip():
        return "empty body"
    head = content[:4096].decode("utf-8", "replace")
    if "html" in content_type.lower() or head.lstrip().startswith("<"):
        title = re.search(r"<title[^>]*>(.*?)</title>", head, re.I | re.S)
        return "HTML page from a proxy" + (f": {title.group(1).strip()[:80]}" if title else "")
    return f"not JSON: {head[:100]}"


def reply_from(status: int, headers, content: bytes, key: str | None = None) -> Reply:
    """Read one whole HTTP answer: a :class:`Reply`, or raise the matching :class:`LlamaError`.

    The raised error's ``retryable`` says whether the retry policy would try again.
    """
    try:
        payload = json.loads(content) if content.strip() else None
    except ValueError:
        payload = None
    ok = 200 <= status < 300
    if isinstance(payload, dict):
        result = payload.get("result")
        if ok and payload.get("success") is not False and isinstance(result, dict):
            text = result.get("response")
            if text is not None and not isinstance(text, str):
                text = json.dumps(text, ensure_ascii=False)
            return Reply(text=text or "", usage=normalize_usage(result.get("usage")), raw=payload, status=status)
        code, message = _first_error(payload)
        if message is None:
            message = "the answer has no 'result'" if ok and payload.get("success") is not False \
                else "no error message was given"
    else:
        code, message = None, "JSON that is not an object" if payload is not None else \
            _body_problem(content, headers.get("Content-Type", ""))
    if 300 <= status < 400:
        raise BadResponseError(
            "The endpoint answered with a redirect", status=status,
            provider_message=_short(f"to {headers.get('Location', '?')}", key),
            fix="Set DATAOORTS_API_URL to the final address (redirects are not followed, so the key stays put).")
    kind = error_class(None if ok else status, code)
    err = kind(status=status, code=code, provider_message=_short(message, key),
               retry_after=retry_after_seconds(headers))
    if kind is ModelNotFoundError and code is None and not isinstance(payload, dict):
        err.fix = "Check DATAOORTS_API_URL (this answer did not come from the API) or pick a model from %llama_models."
        err.refresh()
    err.retryable = should_retry(status, code)
    raise err


def _transport_error(exc: Exception, url: str, key: str, read_timeout: float, after: str = "") -> LlamaError:
    """Translate a requests/urllib3 failure with no HTTP answer into our kinds (message redacted)."""
    parts = urlsplit(url)
    where = parts.hostname or "the endpoint"
    if parts.port:
        where = f"{where}:{parts.port}"
    words = str(exc).lower()
    cause = exc.args[0] if isinstance(exc, requests.ConnectionError) and exc.args else None
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        err = ConnectionFailedError(f"Could not connect to {where} (connect timed out)")
    elif isinstance(exc, (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError)) \
            or isinstance(cause, urllib3.exceptions.ReadTimeoutError):
        err = RequestTimeoutError(f"No answer from {where} within the read timeout of {read_timeout:g} s{after}")
    elif isinstance(exc, (requests.exceptions.SSLError, urllib3.exceptions.SSLError)):
        err = ConnectionFailedError(
            f"TLS/certificate error talking to {where}",
            fix="Check DATAOORTS_API_URL; behind a proxy that inspects TLS, point REQUESTS_CA_BUNDLE at its CA.")
        err.retryable = False
        return err
    elif isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                          requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader)):
        return ConfigError(_short(f"The endpoint URL {url!r} is not usable ({type(exc).__name__})", key),
                           fix="Set DATAOORTS_API_URL to https://cloud.dataoorts.com/api/v1 or your endpoint.")
    elif isinstance(exc, (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError)) or after \
            or any(w in words for w in ("remotedisconnected", "aborted", "reset by peer", "broken")):
        err = ConnectionFailedError(f"The connection to {where} dropped before the answer was complete{after}")
    elif isinstance(exc, (requests.RequestException, OSError)):
        reason = ("connection refused" if "refused" in words else
                  "host name not found" if any(w in words for w in ("name or service", "nodename", "getaddrinfo",
                                                                    "name resolution")) else
                  "proxy error" if isinstance(exc, requests.exceptions.ProxyError) else
                  "network unreachable" if "unreachable" in words else type(exc).__name__)
        err = ConnectionFailedError(f"Could not connect to {where} ({reason})")
    else:
        return LlamaError(_short(f"The request failed ({type(exc).__name__})", key))
    err.retryable = True
    return err


def _sleep(seconds: float) -> None:
    """Wait in small steps, so KeyboardInterrupt (a kernel interrupt) lands at once."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, _SLEEP_STEP))


def _check_key(api_key) -> str:
    key = str(api_key or "").strip()
    if not key:
        raise MissingKeyError()
    if any(ch.isspace() or not 33 <= ord(ch) <= 126 for ch in key):
        # requests would put the whole header, key included, in its error message
        raise ConfigError("The API key contains spaces, line breaks or non-ASCII characters",
                          fix="Copy the key again from your Dataoorts account and set it with %llama_key.")
    return key


def _describe(err: LlamaError) -> str:
    if err.status:
        return f"HTTP {err.status}" + (f" (code {err.code})" if err.code else "")
    return "a read timeout" if isinstance(err, RequestTimeoutError) else "a connection error"


class _Bearer(AuthBase):
    """Puts the key in the Authorization header (and keeps a ~/.netrc entry from replacing it)."""

    def __init__(self, key: str):
        self._key = key

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._key}"
        return request

    def __repr__(self):
        return "<Bearer ***>"


class DataoortsClient:
    """A pooled, thread-safe client; ``api_url`` may be reassigned between calls.

    ``backoff_base``, ``backoff_max`` and ``retry_after_cap`` tune the retry waits (tests make
    them small); the defaults are the policy of INTERFACE section 7.
    """

    def __init__(self, api_url: str, *, timeout: float = DEFAULT_TIMEOUT,
                 connect_timeout: float = DEFAULT_CONNECT_TIMEOUT, max_retries: int = DEFAULT_MAX_RETRIES,
                 pool_maxsize: int = DEFAULT_POOL_MAXSIZE, backoff_base: float = INITIAL_RETRY_DELAY,
                 backoff_max: float = MAX_RETRY_DELAY, retry_after_cap: float = MAX_RETRY_AFTER):
        self.api_url = api_url
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_cap = retry_after_cap
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=DEFAULT_POOL_CONNECTIONS, pool_maxsize=pool_maxsize)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    def __repr__(self):
        return (f"DataoortsClient({self.api_url!r}, timeout={self.timeout}, "
                f"connect_timeout={self.connect_timeout}, max_retries={self.max_retries})")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def chat(self, model, messages, params, *, api_key: str, stream: bool = False, on_text=None, on_retry=None,
             timeout=None, connect_timeout=None, max_retries=None) -> Reply:
        """Send one chat request, retrying per the policy; return a :class:`Reply` or raise a LlamaError.

        ``on_text(piece)`` gets each piece of a streamed answer (once with the whole text when the
        server answers plain JSON); ``on_retry(line)`` is called before each wait. Per-call
        ``timeout``/``connect_timeout``/``max_retries`` override the client's (None: the client's).
        """
        key = _check_key(api_key)
        try:
            body = json.dumps(build_body(model, messages, params, stream), ensure_ascii=False,
                              allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise ConfigError(_short(f"The request could not be encoded as JSON: {exc}", key)) from None
        url = self.api_url
        timeouts = (self.connect_timeout if connect_timeout is None else connect_timeout,
                    self.timeout if timeout is None else timeout)
        limit = self.max_retries if max_retries is None else max_retries
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   "Accept": "text/event-stream, application/json" if stream else "application/json"}
        if stream:
            headers["Accept-Encoding"] = "identity"  # a compressing proxy would hold the stream back
        start, retries, waited, notes = time.monotonic(), 0, 0.0, []
        while True:
            try:
                reply = self._exchange(url, body, headers, timeouts, key, on_text)
            except LlamaError as err:
                wait = self._wait_before_retry(err, retries, limit)
                if wait is None:
                    if retries:
                        err.retries = retries
                        err.refresh()
                    raise
                what = _describe(err)
                if on_retry is not None:
                    on_retry(f"{what}, retrying in {wait:.1f} s (retry {retries + 1} of {limit})")
                began = time.monotonic()
                _sleep(wait)
                waited += time.monotonic() - began
                retries += 1
                notes.append(f"retried after {what} (waited {wait:.1f} s)")
                continue
            reply.elapsed, reply.retries, reply.waited = time.monotonic() - start, retries, waited
            reply.notes[:0] = notes
            return reply

    def _wait_before_retry(self, err: LlamaError, retries: int, limit: int) -> float | None:
        """Seconds to wait before trying again, or None to give up with ``err``."""
        if not err.retryable or retries >= limit:
            return None
        if err.retry_after is not None and err.retry_after > self.retry_after_cap:
            return None  # the error says how long the server wants; don't block the kernel that long
        if err.retry_after:
            return err.retry_after
        return backoff_delay(retries, self.backoff_base, self.backoff_max)

    def _exchange(self, url, body, headers, timeouts, key, on_text) -> Reply:
        """One HTTP request and its whole answer; the response is closed whatever happens."""
        failure = None
        proxies = {"http": None, "https": None, "all": None} if _is_loopback(urlsplit(url).hostname) else None
        try:
            response = self._session.post(url, data=body, headers=headers, auth=_Bearer(key), timeout=timeouts,
                                          stream=True, allow_redirects=False, proxies=proxies)
        except requests.RequestException as exc:
            failure = _transport_error(exc, url, key, timeouts[1])
        if failure is not None:
            raise failure  # raised outside the except block: no chained exception keeps the request
        try:
            content_type = response.headers.get("Content-Type", "").lower()
            if 200 <= response.status_code < 300 and content_type.startswith("text/event-stream"):
                return self._read_events(response, url, key, timeouts[1], on_text)
            try:
                content = response.content
            except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
                failure = _transport_error(exc, url, key, timeouts[1])
        finally:
            response.close()
        if failure is not None:
            raise failure
        reply = reply_from(response.status_code, response.headers, content, key)
        if on_text is not None and reply.text:
            on_text(reply.text)
        return reply

    def _read_events(self, response, url, key, read_timeout, on_text) -> Reply:
        """Read a text/event-stream answer, handing each piece to ``on_text`` as it arrives."""
        reader, failure = TextStream(), None
        try:
            for chunk in _raw_chunks(response.raw):
                for piece in reader.feed(chunk):
                    if on_text is not None:
                        on_text(piece)
                if reader.done:
                    break
            else:
                for piece in reader.finish():
                    if on_text is not None:
                        on_text(piece)
        except StreamFormatError as exc:
            failure = BadResponseError(status=response.status_code, provider_message=_short(str(exc), key))
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            got = len(reader.text)
            failure = _transport_error(exc, url, key, read_timeout,
                                       after=f" ({got} characters of the answer had arrived)")
        if failure is None and reader.error is not None:
            code, message = _first_error(reader.error)
            failure = error_class(None, code)(status=response.status_code, code=code,
                                              provider_message=_short(message or "error event in the stream", key))
            failure.retryable = should_retry(None, code)
        if failure is not None:
            if reader.text:
                failure.partial_text = reader.text
                failure.retryable = False  # text was already shown: retry only before the first piece
                if isinstance(failure, (ConnectionFailedError, RequestTimeoutError)):
                    failure.fix = "Run the cell again for the whole answer."
                    failure.refresh()
            raise failure
        usage = normalize_usage(reader.usage)
        notes = [] if reader.done else ["the stream ended without its [DONE] marker; the answer may be incomplete"]
        raw = {"success": True, "result": {"response": reader.text, "usage": usage}, "streamed": True}
        return Reply(text=reader.text, usage=usage, raw=raw, status=response.status_code, notes=notes)


def _raw_chunks(raw):
    """Bytes as they arrive (urllib3's own stream() would wait for 10 KiB on a non-chunked answer)."""
    if raw.chunked and raw.supports_chunked_reads():
        yield from raw.read_chunked(decode_content=True)
        return
    while chunk := raw.read1(65536, decode_content=True):
        yield chunk
