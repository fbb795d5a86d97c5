"""A loopback HTTP server that answers from a script, for testing the real client over real sockets.

Each test scripts the answers in order (status, headers, body, content type, a delay before
answering, a body sent in timed pieces, a connection dropped mid-body, or raw bytes dripped
onto the socket: headers and all) and afterwards reads ``server.requests``: every request
received, with its headers, body and arrival time. Past the end of the script the server
answers from ``responder(seen)`` if one is set (an answer computed from the request), else 599,
so an unexpected extra request shows. :func:`gzip_bomb` and :func:`gzip_body` make
compressed bodies.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    """One scripted answer.

    ``body``: bytes, str, or a dict/list sent as JSON. ``chunks``: instead of ``body``, a list
    of (bytes, delay_before) pieces sent with chunked transfer encoding. ``delay``: seconds
    before the status line. ``drop_after``: send only this many bytes of the body (or, with
    ``chunks``, only this many pieces) and then close the connection.
    """

    status: int = 200
    body: bytes | str | dict | list | None = b""
    content_type: str | None = "application/json"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    chunks: list[tuple[bytes, float]] | None = None
    drop_after: int | None = None
    raw: list[tuple[bytes, float]] | None = None


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes
    time: float
    client_port: int

    @property
    def json(self):
        return json.loads(self.body)


def ok(text="Hello", usage=True, **result_extra) -> Answer:
    """A success envelope as the API sends it."""
    result = {"response": text, **result_extra}
    if usage:
        result["usage"] = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    return Answer(body={"errors": [], "messages": [], "result": result, "success": True})


def fail(status, code=None, message="failed", headers=None) -> Answer:
    """A failure envelope with an HTTP status and an optional provider code."""
    errors = [{"code": code, "message": message}] if code is not None else [{"message": message}]
    return Answer(
        status=status, body={"errors": errors, "messages": [], "result": None, "success": False}, headers=headers or {}
    )


def gzip_body(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6)


@lru_cache(maxsize=4)
def gzip_bomb(inflated: int = 2**31, member: int = 2**24) -> bytes:
    """A gzip body of ``inflated`` zero bytes (2 GiB by default, about 2 MB on the wire).

    Members of ``member`` bytes one after another (RFC 1952 allows it; every decoder reads on):
    compressing 2 GiB at once would take the test 17 s, one 16 MiB member a fraction of one.
    """
    one = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    packed = one.compress(bytes(member)) + one.flush()
    return packed * max(1, inflated // member)


def sse(*events, done=True) -> bytes:
    """An event-stream body from dicts (as ``data: {json}`` events)."""
    lines = [f"data: {json.dumps(e)}\n\n" for e in events]
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse can be observed

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        self._serve()

    def do_GET(self):
        self._serve()

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server: ScriptedServer = self.server.owner
        answer = server._record_and_next(
            Seen(self.command, self.path, dict(self.headers.items()), body, time.monotonic(), self.client_address[1])
        )
        if answer.delay and server._stopping.wait(answer.delay):
            return
        try:
            self._answer(answer)
        except OSError:  # the client gave up (timeout, interrupt): nothing to do
            self.close_connection = True
        with server._lock:
            server.answered += 1

    def _answer(self, a: Answer):
        if a.raw is not None:
            self.close_connection = True
            for piece, wait in a.raw:
                if wait and self.server.owner._stopping.wait(wait):
                    return
                self.wfile.write(piece)
                self.wfile.flush()
            return
        body = a.body
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        body = body or b""
        self.send_response(a.status)
        if a.content_type:
            self.send_header("Content-Type", a.content_type)
        for name, value in a.headers.items():
            self.send_header(name, value)
        if a.chunks is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, (piece, wait) in enumerate(a.chunks):
                if a.drop_after is not None and i >= a.drop_after:
                    return self._drop()
                if wait and self.server.owner._stopping.wait(wait):
                    return self._drop()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if a.drop_after is not None:
            self.wfile.write(body[: a.drop_after])
            return self._drop()
        self.wfile.write(body)

    def _drop(self):
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that hangs up (a cap reached, a deadline, an interrupt) is what the tests make happen.
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class ScriptedServer:
    """``with ScriptedServer() as s: s.script(Answer(...), ...); ... s.requests``"""

    def __init__(self):
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._httpd.owner = self
        self._lock = threading.Lock()
        self._script: list[Answer] = []
        self._stopping = threading.Event()
        self.requests: list[Seen] = []
        self.answered = 0  # answers written out (or given up on), for "the client has its answer now"
        self.responder: Callable[[Seen], Answer] | None = None
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/api/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def script(self, *answers: Answer) -> ScriptedServer:
        with self._lock:
            self._script.extend(answers)
        return self

    def _record_and_next(self, seen: Seen) -> Answer:
        with self._lock:
            self.requests.append(seen)
            if self._script:
                return self._script.pop(0)
        if self.responder is not None:
            return self.responder(seen)
        return Answer(status=599, body={"success": False, "errors": [{"code": 0, "message": "unscripted"}]})

    def close(self):
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def free_port() -> int:
    """A loopback port with nothing listening on it (for 'connection refused')."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
