"""One deadline per exchange: past it, the socket carrying the request is shut down, so a blocked read ends.

requests' read timeout bounds each socket read, not the request: a server that sends a byte a
second (headers or body), or a stream of keep-alive comments, would hold a cell for ever. A
:class:`Deadline` covers one exchange from sending to the last byte. The connections of our
pools (:class:`DeadlineAdapter`) tell the deadline of the calling thread which socket they
use, each time they send; one shared watchdog thread shuts that socket down when the time is
up; the blocked read then fails at once and the client, seeing ``expired``, names it as the
timeout it is. Nothing here reads or changes what is sent.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_RECHECK = 0.05  # s: a deadline that fires while its connection is still connecting looks again
_current = threading.local()


class Deadline:
    """``seconds`` from now for one exchange; ``with deadline.active():`` around the sending call."""

    def __init__(self, seconds: float, clock=time.monotonic):
        self.seconds = seconds
        self.at = clock() + seconds
        self.expired = False
        self._done = False
        self._conn = None
        self._response = None
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def active(self):
        """Connections opened or reused by this thread inside the block report to this deadline;
        leaving the block, however, finishes it (so the watchdog never keeps looking for it)."""
        _current.deadline = self
        _watchdog.add(self.at, self)
        try:
            yield self
        finally:
            _current.deadline = None
            self.finish()

    def watch(self, conn=None, response=None) -> None:
        """The connection (before the answer) or urllib3 response (after it) to stop at the deadline."""
        with self._lock:
            if conn is not None:
                self._conn = conn
            if response is not None:
                self._response = response

    def finish(self) -> bool:
        """The exchange is over (read whole, or failed); returns whether the deadline had passed."""
        with self._lock:
            first = not self._done
            self._done = True
            self._conn = self._response = None
            expired = self.expired
        if first:
            _watchdog.finished()
        return expired

    def fire(self) -> None:
        """Called by the watchdog at the deadline: stop the exchange if it is still going."""
        with self._lock:
            if self._done:
                return
            self.expired = True
            sock = getattr(self._conn, "sock", None)
            if sock is not None:
                _shut(sock)
            elif self._response is not None:
                with contextlib.suppress(Exception):
                    self._response.shutdown()
            else:
                _watchdog.add(time.monotonic() + _RECHECK, self)  # still connecting (bounded by connect_timeout)


def _shut(sock) -> None:
    # socket.socket.shutdown on the file descriptor, also for a TLS socket (whose own
    # shutdown() would unwrap it under a reader in another thread).
    with contextlib.suppress(OSError, ValueError, TypeError):
        if isinstance(sock, socket.socket):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        else:
            sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that fires deadlines in time order (started at the first one)."""

    def __init__(self):
        self._reset()

    def _reset(self) -> None:
        self._heap: list = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._done = 0  # deadlines in the heap whose exchange is over

    def finished(self) -> None:
        """One more deadline is over before its time: drop the finished ones once they are most of the
        heap (fast answers at -j 64 would otherwise keep two minutes of them)."""
        with self._wake:
            self._done += 1
            if self._done > 1000 and self._done * 2 > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2]._done]
                heapq.heapify(self._heap)
                self._done = 0

    def add(self, at: float, deadline: Deadline) -> None:
        with self._wake:
            heapq.heappush(self._heap, (at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="dataoorts-deadlines", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._wake.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                _, _, deadline = heapq.heappop(self._heap)
                if deadline._done:
                    self._done = max(0, self._done - 1)
            deadline.fire()

    def _forked(self) -> None:
        self._reset()  # the thread did not survive the fork


_watchdog = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_watchdog._forked)


def _reporting(base):
    class Reporting(base):
        """A urllib3 connection that tells the calling thread's deadline it carries the request."""

        def request(self, *args, **kwargs):
            deadline = getattr(_current, "deadline", None)
            if deadline is not None:
                deadline.watch(conn=self)
            return super().request(*args, **kwargs)

    Reporting.__name__ = Reporting.__qualname__ = f"Deadline{base.__name__}"
    return Reporting


class _Pool(HTTPConnectionPool):
    ConnectionCls = _reporting(HTTPConnection)


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _reporting(HTTPSConnection)


POOL_CLASSES = {"http": _Pool, "https": _TLSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter with pools whose connections report to the exchange's :class:`Deadline`."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOL_CLASSES

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are their own; the response is watched then
            manager.pool_classes_by_scheme = POOL_CLASSES
        return manager
