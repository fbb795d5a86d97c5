"""Fair shares of the provider's limit: the class's rate, one queue per student, each student's own rate.

``ClassQueue`` is where every request waits for its turn at the provider. Each student has a
queue; turns go round-robin over the students with someone waiting, so a classmate's 200-row
batch at ``-j 16`` holds at most one turn in each round, and a single question waits for at most
one request of each other waiting student. A request that finds no one waiting and its slot
free goes at once, without a hop through the event loop (the common case in a class).

Turns are spread evenly, ``60 / rate`` seconds apart and SPACING_MARGIN more, so never more than
``rate / 60`` start in any one-second window, and a provider that counts its own window by
arrival (arrivals jitter by some milliseconds) sees no burst. Bursts of ``rate / 60`` at once, as
the extension's contract first described, were measured first: against an upstream that accepts
10 in any one-second window they drew 3-5 % refusals and took 1.4-1.7x the ideal time; even
spacing drew under 1 % (benchmarks/gateway.py), as the extension's own limiter found. Turns
keep to their slots when the loop's timer wakes late (a busy machine), catching up at most
CATCH_UP_S, which the margin covers. A 429
from the provider holds the whole class once until its ``Retry-After`` has passed and doubles the
spacing, which then shrinks back step by step with every turn that goes through.

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
SPACING_MARGIN = 1.05  # turns 5 % further apart than the rate needs
MAX_STRETCH = 8.0  # after 429s, turns at most this many times further apart
RECOVERY = 0.9  # the stretch shrinks by this factor with every turn
CATCH_UP_S = 0.04  # turns a late timer may still give at once (within the margin: the limit holds)


def spacing(rate: float) -> float:
    """Seconds between two turns at ``rate`` requests per minute."""
    return 60.0 / rate * SPACING_MARGIN


class ClassQueue:
    """Round-robin turns over per-student queues, under the class's rate (see the module docstring)."""

    def __init__(self, rate: float, clock=time.monotonic):
        self.spacing, self.stretch, self.clock = spacing(rate), 1.0, clock
        self.hold_until = 0.0  # an upstream Retry-After, for everyone
        self.next_slot = -math.inf  # when the next turn is due
        self._queues: OrderedDict[str, deque[asyncio.Future]] = OrderedDict()
        self._runner: asyncio.Task | None = None

    def waiting(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def turn(self, student: str) -> None:
        """Wait until this request may start upstream."""
        if not self._queues and self._delay() == 0:  # nobody waiting and a slot free: go now, no hop
            self._take_slot()
            return
        future = asyncio.get_running_loop().create_future()
        self._queues.setdefault(student, deque()).append(future)
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._serve())
        try:
            await future
        except asyncio.CancelledError:  # the student hung up while waiting: give the turn to someone else
            queue = self._queues.get(student)
            if queue is not None and future in queue:
                queue.remove(future)
            raise

    def slow_down(self, retry_after: float | None) -> None:
        """An upstream 429: everyone waits out ``retry_after`` (once), and turns come further apart."""
        self.hold_until = max(self.hold_until, self.clock() + (retry_after if retry_after else 1.0))
        self.stretch = min(MAX_STRETCH, self.stretch * 2)

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
        """Seconds until the next turn is allowed (0: now)."""
        now = self.clock()
        return max(0.0, self.hold_until - now, self.next_slot - now)

    async def _serve(self) -> None:
        while any(self._queues.values()):
            delay = self._delay()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            future = self._next_future()
            if future is not None:
                self._take_slot()
                future.set_result(None)
        self._queues.clear()

    def _take_slot(self) -> None:
        """A turn starts now: the next one is due a spacing later."""
        # Slots follow each other, not the timer: a wake-up that came late gives the turns it
        # missed (at most CATCH_UP_S of them), so a high --rate is not cut to one turn per wake-up.
        self.next_slot = max(self.next_slot, self.clock() - CATCH_UP_S) + self.spacing * self.stretch
        self.stretch = max(1.0, self.stretch * RECOVERY)


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
