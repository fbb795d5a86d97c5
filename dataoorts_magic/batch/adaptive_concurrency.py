"""How many requests of one batch may be in flight: additive increase, multiplicative decrease (AIMD).

Why: a 429 (or code 3040) means the batch as a whole is too fast, not the one worker that got it.
The session's rate limiter already holds every request until the server's ``Retry-After`` has
passed; this gate also halves the requests in flight, then adds one back after each streak of
``limit`` answers in a row, up to the ``-j`` the user asked for (TCP's congestion control in
miniature). A burst of refusals halves once, not once per refusal: a refusal of a request that
was let in before the last halving says nothing new.
"""

from __future__ import annotations

import threading
import time

STEP = 0.05  # s; waiting workers look at the stop flag this often


class AdaptiveConcurrency:
    """At most ``limit`` requests in flight (1 .. ``most``); thread-safe."""

    def __init__(self, most: int, clock=time.monotonic):
        self.most = self.limit = max(1, most)
        self.clock = clock
        self.in_flight = 0
        self.refusals = 0  # refusals for the rate limit seen by this batch
        self._round = 0  # bumped by each halving
        self._streak = 0
        self._waiting_until = 0.0
        self._cond = threading.Condition()

    def __repr__(self):
        return f"<AdaptiveConcurrency {self.limit}/{self.most} in flight {self.in_flight}>"

    def enter(self, stopped) -> int | None:
        """Wait for a free place; returns its round, or None once ``stopped()`` is true."""
        with self._cond:
            while self.in_flight >= self.limit and not stopped():
                self._cond.wait(STEP)
            if stopped():
                return None
            self.in_flight += 1
            return self._round

    def leave(self, answered: bool) -> None:
        """Give the place back; an answer counts toward the streak that adds one place."""
        with self._cond:
            self.in_flight -= 1
            if answered:
                self._streak += 1
                if self._streak >= self.limit and self.limit < self.most:
                    self.limit, self._streak = self.limit + 1, 0
            self._cond.notify_all()

    def refused(self, round_: int | None, wait: float) -> None:
        """A request let in during ``round_`` was refused for the rate limit; the batch waits ``wait`` s."""
        with self._cond:
            self.refusals += 1
            self._streak = 0
            self._waiting_until = max(self._waiting_until, self.clock() + wait)
            if round_ == self._round:
                self.limit = max(1, self.limit // 2)
                self._round += 1

    def waiting(self) -> float:
        """Seconds left of the wait after this batch's last refusal (0 when none)."""
        return max(0.0, self._waiting_until - self.clock())
