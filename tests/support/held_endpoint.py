"""A loopback endpoint that holds every request until the test lets it go, then answers it for real.

For "the kernel stays usable while a request is in flight": a fixed latency races the rest of
the test on a busy machine, a held request does not. Each POST is read, counted in ``held``,
kept waiting until ``release()``, then forwarded unchanged (body and Authorization header)
to ``upstream`` (the offline endpoint), whose status, content type and body are passed back.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOLD_LIMIT_S = 120.0


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the http.server naming
        owner = self.server.owner
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with owner.lock:
            owner.held += 1
        try:
            owner.released.wait(HOLD_LIMIT_S)
            reply = requests.post(
                owner.upstream,
                data=body,
                timeout=30,
                headers={
                    "Content-Type": self.headers.get("Content-Type", "application/json"),
                    "Authorization": self.headers.get("Authorization", ""),
                },
            )
        finally:
            with owner.lock:
                owner.held -= 1
        self.send_response(reply.status_code)
        self.send_header("Content-Type", reply.headers.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(reply.content)))
        self.end_headers()
        self.wfile.write(reply.content)

    def log_message(self, *args):
        pass


class HeldEndpoint:
    """``url`` to point the client at; ``held`` requests waiting now; ``release()`` lets them (and later ones) go."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.held = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/api/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def release(self) -> None:
        self.released.set()

    def __enter__(self) -> HeldEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        self._httpd.shutdown()
        self._thread.join()
        self._httpd.server_close()
