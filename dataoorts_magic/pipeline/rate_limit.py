"""One rate limit for the whole session: a sliding window of request starts, and a hold after a refusal.

The platform publishes 300 requests per minute for text generation and answers a burst with 429
(code 3040, ``Retry-After``). Every HTTP attempt of the session (cells, the panel, ``--over``,
``--compare``, the Python API; retries too) takes its turn here, from the one retry loop
(:mod:`.retries`), so one limiter paces every request of the kernel however many batches run:

- **Window**: at most ``rate_limit / 60`` requests start in any one-second window, and a burst up
  to that size starts at once (4 requests at the default 300/min start together, no even
  spacing). The window is :data:`WINDOW_MARGIN` longer than a second, so a server that counts its
  own window by arrival (arrivals jitter by some milliseconds) sees no burst over its limit.
  Under 60/min one request starts per ``60 / rate_limit`` seconds. ``rate_limit = 0``, or the
  bundled offline endpoint: no client-side pacing at all.
- **First come, first served**: requests take their turn in the order they asked, so a batch's
  items start in input order.
- **Hold**: a refusal for the rate limit holds *every* request of the session until its
  ``Retry-After`` has passed (:meth:`RateLimiter.hold`).

Waits are cut in :data:`STEP` slices, so a kernel interrupt, or a batch's ``check()`` that
raises (a cancelled batch), stops a wait at once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from ..client.retry_policy import MAX_RETRY_AFTER
from ..errors import LlamaError

PATIENCE = 300.0  # s with no answer in the whole session before a refused request gives up
MAX_WAIT = MAX_RETRY_AFTER  # a longer Retry-After is a quota or an outage: stop instead of waiting
WINDOW_MARGIN = 1.05  # the window is 5 % longer than a second (arrival jitter at the server)
STEP = 0.05  # s; waits are cut in steps so a kernel interrupt or a cancelled batch stops them at once
MAX_BURST = 1000  # starts remembered: the burst at the highest rate_limit (60,000/min)


class Withdrawn(LlamaError):
    """A request its batch took back while it waited for its turn: nothing is logged or counted."""

    what = "Not sent"


def window(per_minute: int) -> tuple[int, float]:
    """(burst, seconds): at most ``burst`` starts in any window of ``seconds`` under ``per_minute``."""
    burst = min(MAX_BURST, max(1, per_minute // 60))
    return burst, burst * 60.0 / per_minute * WINDOW_MARGIN


class RateLimiter:
    """The session's window of request starts and the hold after a refusal; thread-safe, one per session."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._cond = threading.Condition()
        self._starts: deque[float] = deque(maxlen=MAX_BURST)  # when the latest requests started
        self._queue: deque[object] = deque()  # the requests waiting for their turn, in the order they asked
        self._held_until = 0.0  # no request starts before this (a refusal's Retry-After)
        self.last_answer = clock()
        self.starts = 0  # HTTP attempts started (for tests and benchmarks)
        self.refusals = 0  # 429 / code 3040 answers seen

    def __repr__(self):
        return f"<RateLimiter starts={self.starts} refusals={self.refusals} held={self.holding():.1f} s>"

    def holding(self) -> float:
        """Seconds left before a request may start again after a refusal (0 when not held)."""
        return max(0.0, self._held_until - self.clock())

    def hold(self, seconds: float) -> None:
        """Let no request of the session start for ``seconds`` (the longest hold asked wins)."""
        with self._cond:
            self._held_until = max(self._held_until, self.clock() + seconds)
            self.refusals += 1
            self._cond.notify_all()

    def answered(self) -> None:
        """An answer arrived: the session is being served (the patience of refused requests restarts)."""
        self.last_answer = self.clock()

    def _window_opens(self, per_minute: int, now: float) -> float:
        """When the window has room for one more start under ``per_minute`` (``now`` if it has)."""
        if not per_minute:
            return now
        burst, seconds = window(per_minute)
        if len(self._starts) < burst:
            return now
        return max(now, self._starts[-burst] + seconds)

    def acquire(self, per_minute: int, check: Callable[[], object] | None = None, *, not_before: float = 0.0) -> float:
        """Wait for this request's turn, first come first served, and take it; returns the seconds waited.

        ``not_before`` (a clock time) is a wait of this request's own (a retry's backoff), waited
        outside the queue so the requests behind it are not held up. ``check()`` is called while
        waiting and may raise to give up (a cancelled batch): the request leaves the queue, so
        the ones behind it move up.
        """
        began = self.clock()
        if not_before > began:
            self._wait_until(not_before, check)
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
        try:
            while True:
                if check is not None:
                    check()
                with self._cond:
                    now = self.clock()
                    # the limit in force now counts, so raising rate_limit takes effect at once
                    ready = max(self._held_until, self._window_opens(per_minute, now))
                    first = self._queue[0] is ticket
                    if first and now >= ready:
                        self._queue.popleft()
                        self._starts.append(now)
                        self.starts += 1
                        self._cond.notify_all()
                        return now - began
                    self._cond.wait(min(ready - now, STEP) if first else STEP)
        except BaseException:
            with self._cond:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                    self._cond.notify_all()
            raise

    def _wait_until(self, when: float, check: Callable[[], object] | None) -> None:
        while (left := when - self.clock()) > 0:
            if check is not None:
                check()
            with self._cond:
                self._cond.wait(min(left, STEP))
