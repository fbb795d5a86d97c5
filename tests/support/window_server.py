"""A loopback endpoint that accepts ``per_second`` requests in any one-second window, as the platform
limits text generation, and refuses the rest with 429, code 3040 and ``Retry-After``.

Every answer echoes its prompt (``Answer to: <prompt>``), so a test can check that answers come
back in input order, and ``seen`` lists every request: ``(arrival, prompt, status)``. For tests of a
batch that dies mid-way: ``answer_first=k`` answers only the first k admitted requests and holds
every later one until ``release()`` (``answered`` is set once k are answered), so a child process
can be killed with requests in flight; ``fail`` names prompts answered with a 400 instead.
Standard library only, so the benchmarks use it too.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WINDOW_S = 1.0
HOLD_LIMIT_S = 120.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802 - the http.server naming
        owner: WindowServer = self.server.owner
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        except (OSError, ValueError):  # a client killed mid-request: no request to count
            self.close_connection = True
            return
        prompt = body["data"]["messages"][-1]["content"]
        status, payload, headers = owner._answer(prompt)
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client is gone (a killed process): nothing to answer
            self.close_connection = True


class WindowServer:
    """``with closing(WindowServer(per_second=10, latency=0.1)) as s: ...; s.refused, s.prompts()``"""

    def __init__(self, per_second: int | None = 10, latency: float = 0.0, answer_first: int | None = None, fail=()):
        self.per_second, self.latency, self.answer_first, self.fail = per_second, latency, answer_first, set(fail)
        self.seen: list[tuple[float, str, int]] = []
        self.answered = threading.Event()
        self._released = threading.Event()
        self._admitted: collections.deque[float] = collections.deque()
        self._ok = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, address: None  # a killed client resets its connection
        self._httpd.owner = self
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/api/v1"
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def _answer(self, prompt: str) -> tuple[int, dict, dict]:
        now = time.monotonic()
        with self._lock:
            while self._admitted and now - self._admitted[0] >= WINDOW_S:
                self._admitted.popleft()
            if self.per_second is not None and len(self._admitted) >= self.per_second:
                self.seen.append((now, prompt, 429))
                error = {"code": 3040, "message": f"Rate limited: {self.per_second} requests per second"}
                return 429, {"success": False, "errors": [error], "result": None}, {"Retry-After": "1"}
            self._admitted.append(now)
            held = self.answer_first is not None and self._ok >= self.answer_first
            if not held:
                self._ok += 1
            status = 400 if prompt in self.fail else 200
            self.seen.append((now, prompt, 0 if held else status))
            if self.answer_first is not None and self._ok >= self.answer_first:
                self.answered.set()
        if held:
            self._released.wait(HOLD_LIMIT_S)
        elif self.latency:
            self._released.wait(self.latency)
        if status == 400:
            return 400, {"success": False, "errors": [{"code": 5006, "message": "Bad input"}], "result": None}, {}
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        return 200, {"success": True, "errors": [], "result": {"response": f"Answer to: {prompt}", "usage": usage}}, {}

    # --- what a test reads ----------------------------------------------------------------------
    @property
    def refused(self) -> int:
        return sum(status == 429 for _, _, status in self.seen)

    @property
    def requests(self) -> int:
        return len(self.seen)

    def prompts(self, status: int | None = None) -> list[str]:
        """The prompts received, in arrival order (only those answered with ``status`` if given)."""
        return [p for _, p, s in self.seen if status is None or s == status]

    def reset(self, answer_first: int | None = None) -> None:
        """Forget what was seen and let every held request go (a new run begins)."""
        self._released.set()
        with self._lock:
            self.seen.clear()
            self._ok, self.answer_first = 0, answer_first
        self.answered.clear()
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        """Let every held request go and stop (``contextlib.closing`` calls it)."""
        self._released.set()
        self._httpd.shutdown()
        self._httpd.server_close()
