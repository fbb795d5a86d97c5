"""The HTTP client for the Dataoorts chat endpoint: pooled connections, timeouts, retries, streaming.

Layers, as in requests: :func:`build_body` (pure) -> :meth:`DataoortsClient.chat` (the retry
loop, waits per :mod:`retry_policy`) -> one HTTP exchange (:mod:`.exchange`), read whole or as
server-sent events -> :mod:`envelope` (pure: the answer becomes a :class:`~envelope.Reply` or one of the
:mod:`errors` kinds), or, with no answer at all, :mod:`transport_errors`. The API key is a
per-call argument, a :class:`~dataoorts_magic.secret.Secret` (a str is wrapped in one), read only
inside the ``Authorization`` hook (``exchange._Bearer``): no frame of ours holds it where a
traceback could print it.
It is never stored on the client, and scrubbed from any text a server sends back. Redirects are
not followed, so the key never leaves for another address.

Every exchange is bounded: ``timeout`` covers it whole, from sending to the last byte (a
:class:`~.deadline.Deadline`), and its answer may bring at most ``MAX_ANSWER_BYTES`` after
decoding (:mod:`.answer_body`). This module never imports IPython.
"""

from __future__ import annotations

import json
import time

import requests

from .._version import __version__
from ..errors import ConfigError, LlamaError, MissingKeyError, RequestTimeoutError
from ..secret import Secret
from .answer_body import ACCEPT_ENCODING, MAX_ANSWER_BYTES
from .deadline import DeadlineAdapter
from .envelope import Reply, short_message
from .exchange import exchange
from .retry_policy import (
    DEFAULT_MAX_RETRIES,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    is_rate_limited,
    wait_before_retry,
)

DEFAULT_TIMEOUT = 120.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_POOL_MAXSIZE = 16
DEFAULT_POOL_CONNECTIONS = 4
USER_AGENT = f"dataoorts-magic/{__version__}"
_SLEEP_STEP = 0.05  # waits are cut in steps so a kernel interrupt stops them at once


def build_body(model: str, messages: list[dict], params: dict, stream: bool = False) -> dict:
    """The request body: parameters sit inside ``data`` beside ``messages``; only those given."""
    data = {"messages": messages, **{k: v for k, v in params.items() if v is not None and k != "stream"}}
    if stream:
        data["stream"] = True
    return {"model": model, "data": data}


def _sleep(seconds: float) -> None:
    """Wait in small steps, so KeyboardInterrupt (a kernel interrupt) lands at once."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, _SLEEP_STEP))


def _check_key(api_key) -> Secret:
    """The key as a Secret, checked: requests would put a malformed header, key included, in its error."""
    key = Secret.of(api_key)
    if not key:
        raise MissingKeyError()
    if any(ch.isspace() or not 33 <= ord(ch) <= 126 for ch in key.reveal()):
        # requests would put the whole header, key included, in its error message
        raise ConfigError(
            "The API key contains spaces, line breaks or non-ASCII characters",
            fix="Copy the key again from your Dataoorts account and set it with %llama_key.",
        )
    return key


def _describe(err: LlamaError) -> str:
    if err.status:
        return f"HTTP {err.status}" + (f" (code {err.code})" if err.code else "")
    return "a timeout" if isinstance(err, RequestTimeoutError) else "a connection error"


class DataoortsClient:
    """A pooled, thread-safe client; ``api_url`` may be reassigned between calls.

    ``backoff_base``, ``backoff_max`` and ``retry_after_cap`` tune the retry waits (tests make
    them small); the defaults are the policy of INTERFACE section 7. ``max_answer_bytes`` caps
    what one answer may bring, after decoding.
    """

    def __init__(
        self,
        api_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        pool_maxsize: int = DEFAULT_POOL_MAXSIZE,
        backoff_base: float = INITIAL_RETRY_DELAY,
        backoff_max: float = MAX_RETRY_DELAY,
        retry_after_cap: float = MAX_RETRY_AFTER,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ):
        self.api_url = api_url
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_cap = retry_after_cap
        self.max_answer_bytes = max_answer_bytes
        self._session = requests.Session()
        adapter = DeadlineAdapter(pool_connections=DEFAULT_POOL_CONNECTIONS, pool_maxsize=pool_maxsize)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    def __repr__(self):
        return (
            f"DataoortsClient({self.api_url!r}, timeout={self.timeout}, "
            f"connect_timeout={self.connect_timeout}, max_retries={self.max_retries})"
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def chat(
        self,
        model,
        messages,
        params,
        *,
        api_key: Secret | str,
        stream: bool = False,
        on_text=None,
        on_retry=None,
        timeout=None,
        connect_timeout=None,
        max_retries=None,
        before_attempt=None,
        retry_rate_limited: bool = True,
    ) -> Reply:
        """Send one chat request, retrying per the policy; return a :class:`Reply` or raise a LlamaError.

        ``on_text(piece)`` gets each piece of a streamed answer (once with the whole text when the
        server answers plain JSON); ``on_retry(line)`` is called before each wait. Per-call
        ``timeout``/``connect_timeout``/``max_retries`` override the client's (None: the client's).
        ``before_attempt()`` is called before every HTTP attempt, retries included (a rate limiter
        waits there; what it raises propagates). With ``retry_rate_limited=False`` a 429 or code
        3040 is raised at once, not retried here, so the caller can slow down every request it sends.
        """
        key = _check_key(api_key)
        try:
            body = json.dumps(build_body(model, messages, params, stream), ensure_ascii=False, allow_nan=False).encode(
                "utf-8"
            )
        except (TypeError, ValueError, RecursionError) as exc:
            raise ConfigError(short_message(f"The request could not be encoded as JSON: {exc}", key)) from None
        url = self.api_url
        timeouts = (
            self.connect_timeout if connect_timeout is None else connect_timeout,
            self.timeout if timeout is None else timeout,
        )
        limit = self.max_retries if max_retries is None else max_retries
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Accept": "text/event-stream, application/json" if stream else "application/json",
            # only what answer_body can inflate with a bound; a compressing proxy would hold a stream back
            "Accept-Encoding": "identity" if stream else ACCEPT_ENCODING,
        }
        start, retries, waited, notes = time.monotonic(), 0, 0.0, []
        while True:
            if before_attempt is not None:
                before_attempt()
            try:
                reply = exchange(self._session, url, body, headers, timeouts, key, on_text, self.max_answer_bytes)
            except LlamaError as err:
                wait = wait_before_retry(
                    err,
                    retries,
                    limit,
                    base=self.backoff_base,
                    cap=self.backoff_max,
                    retry_after_cap=self.retry_after_cap,
                )
                if not retry_rate_limited and is_rate_limited(err):
                    wait = None  # handed back: the caller slows every request down, not just this one
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
