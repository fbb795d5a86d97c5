"""The bundled offline endpoint: a loopback server that speaks the Dataoorts API (INTERFACE.md section 1).

It checks the Bearer key, validates ``data`` exactly against the platform's input schema
(``schema``), answers in the platform's envelope with usage counts, respects
``max_tokens``, streams server-sent events when asked (``protocol``), and
answers with generated Markdown that is clearly not from a model (``answers``).
This module routes requests, injects faults and runs the server (``httpd`` moves
the bytes). The faults, for tests and demos: latency, 429/503/500 failures, a proxy's HTML
page, dropped connections, a per-server rate limit, and a scripted sequence of per-request
overrides.

``OfflineServer`` runs it in a daemon thread and ``start_offline()`` gives the process-wide
instance the client uses with ``DATAOORTS_OFFLINE=1``; ``cli`` runs it in the
foreground for ``dataoorts-magic serve``. Standard library only.
"""

from __future__ import annotations

import atexit
import hmac
import math
import random
import secrets
import threading
import time
import traceback
from collections import deque
from urllib.parse import urlsplit

from .answers import count_tokens
from .httpd import MAX_BODY_BYTES, Handler, HTTPServer, HTTPServer6, read_body, send_reply
from .protocol import Reply, api_reply, bad_input, bearer_token, failure, fingerprint, parse_json, redacted_headers

__all__ = ["OfflineServer", "start_offline", "offline_server", "count_tokens", "fingerprint"]

API_PATH = "/api/v1"
DEFAULT_FAIL_KINDS = ("429", "503", "500", "drop")
FAIL_KINDS = frozenset({"429", "500", "502", "503", "drop"})  # 502: a proxy's HTML error page
RATE_WINDOW_S = 60.0
_NOT_JSON = object()  # a body that did not parse (JSON null is a valid body)
PROXY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    "</h1></center><hr><center>offline proxy</center></body></html>"
)


def _scripted(override: dict) -> Reply | None:
    """The reply a script entry forces (a raw body, or a failure envelope), or None to answer normally."""
    if "body" in override:
        text = override["body"]
        return Reply(
            override.get("status", 200),
            text.encode() if isinstance(text, str) else bytes(text),
            override.get("content_type", "text/plain; charset=utf-8"),
        )
    status = override.get("status")
    if not status:
        return None
    retry_after = override.get("retry_after", 1 if status == 429 else None)
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return failure(status, override.get("code"), override.get("message"), headers)


class OfflineServer:
    """The offline endpoint on ``host:port`` (port 0 picks a free one), served from a daemon thread.

    ``api_key=None`` accepts any non-empty Bearer token. Faults: ``latency`` seconds before
    each answer; ``fail_rate`` of requests fail with one of ``fail_kinds`` ("429", "503",
    "500", "502" = a proxy's HTML page, "drop" = headers and half the body, then close),
    drawn from ``random.Random(fault_seed)``; ``rate_limit`` requests per rolling minute,
    then 429 with Retry-After; ``script``, a list of per-request overrides used in order
    (``{"status": 503, "code": 3040}``, ``{"drop": True}``, ``{"latency": 2.0}``,
    ``{"body": "<html>...", "status": 502, "content_type": "text/html"}``; also ``message``,
    ``retry_after``, ``headers``; ``{"answer": "text"}`` answers a valid request with that text
    instead of the generated one, e.g. an invalid object to show a ``--schema`` re-ask), after
    which normal behaviour resumes.

    Stats (thread-safe): ``requests`` (dicts of redacted lower-case ``headers``, parsed
    ``body`` or None, ``status``; appended on arrival, status set before the reply is
    written), ``count``, ``in_flight`` and ``max_in_flight``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        latency: float = 0.0,
        fail_rate: float = 0.0,
        fail_kinds=None,
        rate_limit: int | None = None,
        fault_seed=None,
        script=None,
        verbose: bool = False,
    ):
        if not (isinstance(latency, (int, float)) and 0 <= latency < math.inf):
            raise ValueError(f"latency must be a number of seconds >= 0, not {latency!r}")
        if not (isinstance(fail_rate, (int, float)) and 0 <= fail_rate <= 1):
            raise ValueError(f"fail_rate must be from 0 to 1, not {fail_rate!r}")
        if rate_limit is not None and not (isinstance(rate_limit, int) and rate_limit >= 1):
            raise ValueError(f"rate_limit must be a whole number >= 1 or None, not {rate_limit!r}")
        kinds = tuple(str(k).lower() for k in (fail_kinds or DEFAULT_FAIL_KINDS))
        if not kinds or set(kinds) - FAIL_KINDS:
            raise ValueError(f"fail_kinds must be taken from {sorted(FAIL_KINDS)}, not {list(fail_kinds)!r}")
        self.host, self.port, self.api_key, self.verbose = host, port, api_key, verbose
        self.latency, self.fail_rate, self.fail_kinds, self.rate_limit = latency, fail_rate, kinds, rate_limit
        self.requests: list[dict] = []
        self.count = self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        self._script = deque(dict(entry) for entry in (script or ()))
        self._fault_rng = random.Random(fault_seed)
        self._admitted: deque[float] = deque()
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}{API_PATH}"

    def _bind(self) -> HTTPServer:
        if self._httpd is None:
            server_class = HTTPServer6 if ":" in self.host else HTTPServer
            self._httpd = server_class((self.host, self.port), Handler)
            self._httpd.owner = self
            self.port = self._httpd.server_address[1]
        return self._httpd

    def start(self) -> OfflineServer:
        """Start serving in a daemon thread (a no-op when already started); returns self."""
        if self._thread is None:
            httpd = self._bind()
            self._thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"dataoorts-offline-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket (idempotent)."""
        httpd, thread, self._httpd, self._thread = self._httpd, self._thread, None, None
        if httpd is not None:
            if thread is not None:
                httpd.shutdown()
                thread.join()
            httpd.server_close()

    def __enter__(self) -> OfflineServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def enqueue(self, *overrides: dict) -> None:
        """Add per-request overrides to the end of the script (see the class docstring)."""
        with self._lock:
            self._script.extend(dict(o) for o in overrides)

    # -- one request --------------------------------------------------------------------------
    def _handle(self, handler) -> None:
        started = time.monotonic()
        record = {"headers": redacted_headers(handler.headers), "body": None, "status": 0}
        with self._lock:
            self.count += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.requests.append(record)
            override = self._script.popleft() if self._script else {}
        try:
            try:
                reply = self._reply(handler, override, record)
            except Exception:  # a bug here must reach the client as a 500, not as a hung-up socket
                traceback.print_exc()
                reply = failure(500, 3043, "The offline endpoint failed: see its standard error")
            record["status"] = reply.status
            send_reply(handler, reply)
        finally:
            with self._lock:
                self.in_flight -= 1
        if self.verbose:
            print(
                f"{handler.command} {handler.path} -> {reply.status}"
                f"{' (dropped)' if reply.drop else ''} in {time.monotonic() - started:.3f} s",
                flush=True,
            )

    def _reply(self, handler, override: dict, record: dict) -> Reply:
        try:
            raw = read_body(handler)
        except (OverflowError, ValueError) as exc:
            handler.close_connection = True  # the rest of this connection's bytes cannot be trusted
            if isinstance(exc, OverflowError):
                return failure(413, 3006, f"Request is too large (more than {MAX_BODY_BYTES} bytes)")
            return bad_input("Could not read the request body")
        try:
            body = record["body"] = parse_json(raw)
        except ValueError:
            body = _NOT_JSON
        delay = override.get("latency", self.latency)
        if delay:
            time.sleep(delay)
        reply = _scripted(override) or self._routed(handler, body, override.get("answer"))
        reply.headers.update(override.get("headers", {}))
        reply.drop = reply.drop or bool(override.get("drop"))
        return reply

    def _routed(self, handler, body, answer: str | None = None) -> Reply:
        if urlsplit(handler.path).path != API_PATH:
            return failure(404)
        if handler.command != "POST":
            return failure(405, headers={"Allow": "POST"})
        wait = self._rate_limited()
        if wait is not None:
            message = f"Rate limit of {self.rate_limit} requests per minute reached, retry in {wait} s"
            return failure(429, 3040, message, {"Retry-After": wait})
        kind = self._draw_fault()
        if kind == "429":
            return failure(429, 3040, headers={"Retry-After": 1})
        if kind == "503":
            return failure(503, 3040, "out of capacity")
        if kind == "500":
            return failure(500, 3043)
        if kind == "502":
            return Reply(502, PROXY_PAGE.encode(), "text/html")
        reply = self._authorized_reply(handler, body, answer)
        reply.drop = kind == "drop"
        return reply

    def _authorized_reply(self, handler, body, answer: str | None = None) -> Reply:
        token = bearer_token(handler.headers.get("Authorization"))
        if token is None or (
            self.api_key is not None and not hmac.compare_digest(token.encode(), self.api_key.encode())
        ):
            return failure(401, 10000, "Authentication error")
        if body is _NOT_JSON:
            return bad_input("The request body is not valid JSON")
        return api_reply(body, answer)

    def _rate_limited(self) -> int | None:
        """Seconds until a slot frees when the rolling-minute limit is reached, else None (slot taken)."""
        if self.rate_limit is None:
            return None
        now = time.monotonic()
        with self._lock:
            while self._admitted and now - self._admitted[0] >= RATE_WINDOW_S:
                self._admitted.popleft()
            if len(self._admitted) >= self.rate_limit:
                return max(1, math.ceil(self._admitted[0] + RATE_WINDOW_S - now))
            self._admitted.append(now)
        return None

    def _draw_fault(self) -> str | None:
        if self.fail_rate <= 0:
            return None
        with self._lock:
            if self._fault_rng.random() < self.fail_rate:
                return self._fault_rng.choice(self.fail_kinds)
        return None


_offline_lock = threading.Lock()
_offline: tuple[OfflineServer, str] | None = None


def start_offline() -> tuple[str, str]:
    """The process-wide offline endpoint, started on first use: returns ``(url, key)``.

    It listens on a free loopback port, accepts only its own random key, and stops at exit.
    """
    global _offline
    with _offline_lock:
        if _offline is None:
            key = secrets.token_urlsafe(24)
            server = OfflineServer(api_key=key).start()
            atexit.register(server.stop)
            _offline = (server, key)
        server, key = _offline
    return server.url, key


def offline_server() -> OfflineServer | None:
    """The server behind ``start_offline()`` (for its stats), or None before it is started."""
    return _offline[0] if _offline else None
