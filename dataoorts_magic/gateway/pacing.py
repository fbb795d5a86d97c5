"""Fair shares of the provider's limit: the class's rate, one queue per student, each student's own rate.

``ClassQueue`` is where every request waits for its turn at the provider. Each student has a
queue; turns go round-robin over the students with someone waiting, so a classmate's 200-row
batch at ``-j 16`` holds at most one turn in each round, and a single question waits for at most
one request of each other waiting student. Turns are paced as the extension paces itself
(INTERFACE.md section 5): at most ``rate/60`` starts in any one-second window, a burst of that size
at once. A 429 from the provider pauses the whole class once until its ``Retry-After`` has passed
and halves the burst, which then grows back by one for every window of turns that went through.

``StudentWindow`` is a student's own ``--rate``: requests in the last rolling minute.
All of it lives in one process's event loop (no locks): with several gateway processes each
paces its own share, so give each ``--rate`` its part of the provider's limit.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque

WINDOW_S = 60.0  # a student's --rate counts requests per rolling minute


def burst_window(rate: float) -> tuple[int, float]:
    """(starts, seconds): at most ``starts`` in any window of ``seconds`` for ``rate`` per minute."""
    seconds = max(1.0, 60.0 / rate)
    return max(1, math.floor(rate * seconds / 60.0 + 1e-9)), seconds


class ClassQueue:
    """Round-robin turns over per-student queues, under the class's rate (see the module docstring)."""

    def __init__(self, rate: float, clock=time.monotonic):
        self.full_burst, self.window = burst_window(rate)
        self.burst = self.full_burst
        self.clock = clock
        self.hold_until = 0.0  # an upstream Retry-After, for everyone
        self._starts: deque[float] = deque()
        self._queues: OrderedDict[str, deque[asyncio.Future]] = OrderedDict()
        self._runner: asyncio.Task | None = None
        self._granted_since_slowdown = 0

    def waiting(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def turn(self, student: str) -> None:
        """Wait until this request may start upstream."""
        future = asyncio.get_running_loop().create_future()
        self._queues.setdefault(student, deque()).append(future)
        self._kick()
        try:
            await future
        except asyncio.CancelledError:  # the student hung up while waiting: give the turn to someone else
            queue = self._queues.get(student)
            if queue is not None and future in queue:
                queue.remove(future)
            raise

    def slow_down(self, retry_after: float | None) -> None:
        """An upstream 429: everyone waits out ``retry_after`` (once), and the burst halves."""
        self.hold_until = max(self.hold_until, self.clock() + (retry_after if retry_after else 1.0))
        self.burst = max(1, self.burst // 2)
        self._granted_since_slowdown = 0

    def _kick(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._serve())

    def _next_future(self) -> asyncio.Future | None:
        """The head of the next student's queue in round-robin order (that student moves to the back)."""
        while self._queues:
            student, queue = next(iter(self._queues.items()))
            self._queues.move_to_end(student)
            while queue and queue[0].done():
                queue.popleft()
            if not queue:
                del self._queues[student]
                continue
            return queue.popleft()
        return None

    def _delay(self) -> float:
        """Seconds until the next start is allowed (0: now)."""
        now = self.clock()
        while self._starts and now - self._starts[0] >= self.window:
            self._starts.popleft()
        wait = self.hold_until - now
        if len(self._starts) >= self.burst:
            wait = max(wait, self._starts[0] + self.window - now)
        return max(0.0, wait)

    async def _serve(self) -> None:
        while True:
            if not any(self._queues.values()):
                self._queues.clear()
                return
            delay = self._delay()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            future = self._next_future()
            if future is None:
                continue
            self._starts.append(self.clock())
            future.set_result(None)
            self._granted_since_slowdown += 1
            if self.burst < self.full_burst and self._granted_since_slowdown >= self.burst:
                self.burst += 1  # recover step by step
                self._granted_since_slowdown = 0


class StudentWindow:
    """Each student's own ``--rate``: how long until another request of theirs is allowed."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._times: dict[str, deque[float]] = {}

    def admit(self, student: str, rate: int | None) -> float:
        """0 and the request counts, or the seconds to wait (the request does not count)."""
        if not rate:
            return 0.0
        now = self.clock()
        times = self._times.setdefault(student, deque())
        while times and now - times[0] >= WINDOW_S:
            times.popleft()
        if len(times) >= rate:
            return max(1.0, math.ceil(times[0] + WINDOW_S - now))
        times.append(now)
        return 0.0
