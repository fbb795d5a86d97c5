"""One rate limit for the whole session, and what every request does when the server refuses it anyway.

The platform publishes 300 requests per minute for text generation and answers a burst with 429
(code 3040, ``Retry-After``). Every front door (cells, the panel, ``--over``, ``--compare``, the
Python API) sends through ``LlamaSession.send``, which runs the HTTP call through
:meth:`RateLimiter.call`, so one limiter paces every request of the kernel however many batches
run at once:

- **Pacing**: before every HTTP attempt (retries too) a request takes its turn, first come
  first served (so a batch's items start in input order). Starts are spread evenly,
  ``60 / rate_limit`` seconds apart and :data:`SPACING_MARGIN` more, so never more than
  ``rate_limit / 60`` requests start in any one second, and a server that counts its own window
  by arrival (arrivals jitter by some milliseconds) sees no burst. (A sliding window that let
  ``rate_limit / 60`` start at once was tried: its bursts drew 1 to 4 refusals in 200 requests
  against a per-second window, even spacing with a 5 % margin none; benchmarks/batch_limits.py.)
  ``rate_limit = 0``: no client-side cap. Cache hits and budget refusals send nothing and take
  no turn.
- **Refusals**: a 429 or code 3040 is handed back by the client (not retried there) and holds
  *every* request of the session until its ``Retry-After`` has passed (a doubling backoff when
  the server names no wait), then the request is sent again. In a batch these waits do not use
  up ``max_retries``, which still bounds the other transient faults; a request on its own (a
  cell, the panel) counts each refusal as one of its ``max_retries``, as any transient fault.
- **Patience**, the bound on those waits: a refused request keeps waiting while the session still
  gets answers. It gives up when no request has been answered for :data:`PATIENCE` seconds since
  it was first refused, or at once when the server asks for a wait over :data:`MAX_WAIT` (a quota
  or an outage, not a rate limit): then it raises :class:`RateLimitStalledError`, which stops a
  batch like a used-up quota does (3036/4006 are never waited on: they stop at once).

A batch hands ``send`` a *control* (``check()``, ``before_attempt()``, ``rate_limited(wait)``),
so its workers stop waiting when the batch is cancelled and it can halve its concurrency.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from ..client.retry_policy import MAX_RETRY_AFTER, backoff_delay, is_rate_limited
from ..errors import LlamaError, RateLimitStalledError

PATIENCE = 300.0  # s with no answer in the whole session before a refused request gives up
MAX_WAIT = MAX_RETRY_AFTER  # a longer Retry-After is a quota or an outage: stop instead of waiting
SPACING_MARGIN = 1.05  # starts 5 % further apart than the limit needs (arrival jitter at the server)
STEP = 0.05  # s; waits are cut in steps so a kernel interrupt or a cancelled batch stops them at once


class Withdrawn(LlamaError):
    """A request its batch took back while it waited for its turn: nothing is logged or counted."""

    what = "Not sent"


def spacing(per_minute: int) -> float:
    """Seconds between two starts under ``per_minute`` (0: no cap)."""
    return 60.0 / per_minute * SPACING_MARGIN if per_minute else 0.0


class RateLimiter:
    """The session's pacing of request starts and the hold after a refusal; thread-safe, one per session."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._cond = threading.Condition()
        self._last_start = -float("inf")  # when the latest request started
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

    def acquire(self, per_minute: int, check=None) -> float:
        """Wait for this request's turn, first come first served, and take it; returns the seconds waited.

        ``check()`` is called while waiting and may raise to give up (a cancelled batch); a
        request that gives up leaves the queue, so the ones behind it move up.
        """
        began, ticket = self.clock(), object()
        with self._cond:
            self._queue.append(ticket)
        try:
            while True:
                if check is not None:
                    check()
                with self._cond:
                    now = self.clock()
                    # spaced by the limit in force now, so raising rate_limit takes effect at once
                    ready = max(self._held_until, self._last_start + spacing(per_minute))
                    if self._queue[0] is ticket and now >= ready:
                        self._queue.popleft()
                        self._last_start = now  # the actual start: never closer than the spacing
                        self.starts += 1
                        self._cond.notify_all()
                        return now - began
                    self._cond.wait(min(ready - now, STEP) if self._queue[0] is ticket else STEP)
        except BaseException:
            with self._cond:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                    self._cond.notify_all()
            raise

    def call(self, chat, *, per_minute: int, max_retries: int, control=None):
        """``chat(before_attempt=..., retry_rate_limited=False, max_retries=n)`` until it answers.

        In a batch (``control`` given) a refusal for the rate limit is waited out without using
        up ``max_retries`` until :class:`RateLimitStalledError` says waiting is no longer worth it
        (module docstring); a request on its own (a cell, the panel) counts each refusal as one
        of its ``max_retries``, as before. Returns the client's ``Reply`` (``elapsed`` and
        ``waited`` include these waits, a note says how long they were), or raises its error.
        """
        started, used, refused, waited, first_refusal = self.clock(), 0, 0, 0.0, None

        def before_attempt():
            self.acquire(per_minute, control.check if control is not None else None)
            if control is not None:
                control.before_attempt()

        while True:
            try:
                reply = chat(
                    before_attempt=before_attempt, retry_rate_limited=False, max_retries=max(0, max_retries - used)
                )
            except LlamaError as err:
                used += err.retries
                if not is_rate_limited(err):
                    _counted(err, used)
                    raise
                first_refusal = self.clock() if first_refusal is None else first_refusal
                wait = err.retry_after if err.retry_after is not None else backoff_delay(refused)
                if control is None:
                    if used >= max_retries or wait > MAX_WAIT:
                        _counted(err, used)
                        raise
                    used += 1
                elif wait > MAX_WAIT or self.clock() - max(self.last_answer, first_refusal) >= PATIENCE:
                    raise _stalled(err, wait, stalled=wait <= MAX_WAIT) from None
                self.hold(wait)
                refused, waited = refused + 1, waited + wait
                if control is not None:
                    control.rate_limited(wait)
                continue
            self.last_answer = self.clock()
            reply.elapsed, reply.waited = self.last_answer - started, reply.waited + waited
            if refused:
                times = "once" if refused == 1 else f"{refused} times"
                reply.notes.insert(0, f"retried {times} after a rate limit (waited {waited:.1f} s)")
            return reply


def _counted(err: LlamaError, retries: int) -> None:
    """Make ``err`` say every retry this request made (the client counts only those of its last call)."""
    if retries != err.retries:
        err.retries = retries
        err.refresh()


def _stalled(err: LlamaError, wait: float, *, stalled: bool) -> RateLimitStalledError:
    if stalled:
        detail = f"No answer for {PATIENCE / 60:.0f} min: the server kept refusing requests for its rate limit"
    else:
        detail = (
            f"The server asks to wait {wait:.0f} s for its rate limit, longer than a batch waits ({MAX_WAIT:.0f} s)"
        )
    return RateLimitStalledError(
        detail,
        status=err.status,
        code=err.code,
        provider_message=err.provider_message,
        retry_after=err.retry_after,
    )
