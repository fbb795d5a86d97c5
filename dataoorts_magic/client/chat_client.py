"""The HTTP client for the Dataoorts chat endpoint: pooled connections, timeouts, streaming; one attempt a call.

Layers, as in requests: :func:`build_body` (pure) -> :meth:`DataoortsClient.exchange_once` (one
attempt; the one retry loop is the pipeline's) -> one HTTP exchange (:mod:`.exchange`), read whole or as
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
from collections.abc import Callable

import requests

from .._version import __version__
from ..errors import ConfigError, MissingKeyError
from ..secret import Secret
from .answer_body import ACCEPT_ENCODING, MAX_ANSWER_BYTES
from .deadline import DeadlineAdapter
from .envelope import Reply, short_message
from .exchange import exchange

DEFAULT_TIMEOUT = 120.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_POOL_MAXSIZE = 16
DEFAULT_POOL_CONNECTIONS = 4
USER_AGENT = f"dataoorts-magic/{__version__}"


def build_body(model: str, messages: list[dict], params: dict, stream: bool = False) -> dict:
    """The request body: parameters sit inside ``data`` beside ``messages``; only those given."""
    data = {"messages": messages, **{k: v for k, v in params.items() if v is not None and k != "stream"}}
    if stream:
        data["stream"] = True
    return {"model": model, "data": data}


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


class DataoortsClient:
    """A pooled, thread-safe client; ``api_url`` may be reassigned between calls.

    It makes one attempt per call (:meth:`exchange_once`); retries are the request pipeline's
    (``pipeline/retries.py``). ``max_answer_bytes`` caps what one answer may bring, after decoding.
    """

    def __init__(
        self,
        api_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        pool_maxsize: int = DEFAULT_POOL_MAXSIZE,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ):
        self.api_url = api_url
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_answer_bytes = max_answer_bytes
        self._session = requests.Session()
        adapter = DeadlineAdapter(pool_connections=DEFAULT_POOL_CONNECTIONS, pool_maxsize=pool_maxsize)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    def __repr__(self):
        return f"DataoortsClient({self.api_url!r}, timeout={self.timeout}, connect_timeout={self.connect_timeout})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def exchange_once(
        self,
        model: str,
        messages,
        params: dict,
        *,
        api_key: Secret | str,
        stream: bool = False,
        on_text: Callable[[str], object] | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
    ) -> Reply:
        """Send one chat request, once: a :class:`Reply`, or the :mod:`errors` kind that says what went wrong.

        No retry here: the error carries ``retryable`` and ``retry_after`` and the caller's one
        retry loop (``pipeline/retries.py``) decides. ``on_text(piece)`` gets each piece of a
        streamed answer (once with the whole text when the server answers plain JSON). Per-call
        ``timeout``/``connect_timeout`` override the client's (None: the client's).
        """
        key = _check_key(api_key)
        try:
            body = json.dumps(
                build_body(model, list(messages), params, stream), ensure_ascii=False, allow_nan=False
            ).encode("utf-8")
        except (TypeError, ValueError, RecursionError) as exc:
            raise ConfigError(short_message(f"The request could not be encoded as JSON: {exc}", key)) from None
        timeouts = (
            self.connect_timeout if connect_timeout is None else connect_timeout,
            self.timeout if timeout is None else timeout,
        )
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Accept": "text/event-stream, application/json" if stream else "application/json",
            # only what answer_body can inflate with a bound; a compressing proxy would hold a stream back
            "Accept-Encoding": "identity" if stream else ACCEPT_ENCODING,
        }
        start = time.monotonic()
        reply = exchange(self._session, self.api_url, body, headers, timeouts, key, on_text, self.max_answer_bytes)
        reply.elapsed = time.monotonic() - start
        return reply
