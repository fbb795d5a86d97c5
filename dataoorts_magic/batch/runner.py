"""Send many prepared requests a few at a time and keep every outcome in input order.

Used by ``--over`` and ``--compare``. Requests go through ``LlamaSession.send`` (so budget,
cache, rate limit, retries and log apply to each) on a small thread pool; the kernel's
main thread only waits, records outcomes and moves the progress bar. A failed request
keeps its error and the others go on, except for failures every other request would
repeat (no key, authentication, quota, no such model): then nothing more is sent. (A
budget refusal is not one of them: it sends nothing, and a later, smaller request may fit.)
A kernel interrupt stops it at once: nothing more is sent, requests in flight are
abandoned, and the outcomes that had arrived are kept. A cancel (``--background``'s
``.cancel()``) stops sending too, but lets the requests in flight finish and keeps them.

The session's rate limiter paces every request; a refusal for the rate limit also halves the
batch's requests in flight (:mod:`.adaptive_concurrency`), and the progress bar shows the wait and the
current concurrency. Each request hands ``send`` a :class:`Control` for that.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

from ..display.progress import Progress
from ..errors import (
    AuthenticationError,
    ConfigError,
    ModelNotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitStalledError,
)
from ..pipeline.rate_limit import Withdrawn
from ..pipeline.request import Request
from .adaptive_concurrency import AdaptiveConcurrency

POLL_SECONDS = 0.1  # the main thread wakes at least this often, so an interrupt lands at once
# Failures that every later request would repeat: stop instead of sending them all (and a
# provider blocks addresses after repeated failed authentication). A rate limit that waiting
# no longer cures is one of them (pipeline/rate_limit.py).
STOP_ON = (
    ConfigError,
    AuthenticationError,
    PermissionDeniedError,
    ModelNotFoundError,
    QuotaExceededError,
    RateLimitStalledError,
)


class NotSent(Withdrawn):
    """The place of a request that was not sent, or whose answer was abandoned."""

    what = "Not sent"


class NoAnswer(NotSent):
    """A request that was sent, but whose answer the stopped run abandoned (it is not "not sent")."""


def never_sent(result) -> bool:
    """An item the run stopped before sending: counted as "not sent", never as "failed"."""
    return isinstance(result, NotSent) and not isinstance(result, NoAnswer)


@dataclass
class Outcome:
    """What ``gather`` returns: one response or exception per request, and how the run ended.

    ``sent`` counts the requests that went to the endpoint (not cache hits, not those reused or
    refused before sending); ``refusals`` the answers refused for the rate limit.
    """

    results: list
    elapsed: float
    interrupted: bool = False
    stopped_by: BaseException | None = None
    cancelled: bool = False
    sent: int = 0
    refusals: int = 0

    @property
    def finished(self) -> int:
        return finished(self.results)


class Control:
    """What one request of a run hands ``LlamaSession.send``: its place among the requests in flight,
    a stop that reaches it while it waits for its turn, and the news of a refusal."""

    def __init__(self, gate: AdaptiveConcurrency, stopped):
        self.gate, self.stopped = gate, stopped
        self.round: int | None = None
        self.started = False  # an HTTP attempt was made

    def check(self) -> None:
        if self.stopped():
            if self.started:
                raise NoAnswer("No answer: the run stopped while this request waited to be sent again")
            raise NotSent("Not sent: the run had stopped")

    def before_attempt(self) -> None:
        self.check()
        self.started = True

    def rate_limited(self, wait: float) -> None:
        """Refused: the batch halves its concurrency, and this request queues for a place again."""
        self.gate.refused(self.round, wait)
        self.gate.leave(answered=False)
        self.round = None
        self._enter()

    def _enter(self) -> None:
        self.round = self.gate.enter(self.stopped)
        if self.round is None:
            self.check()

    def __enter__(self) -> Control:
        self._enter()
        return self

    def __exit__(self, kind, *rest) -> None:
        if self.round is not None:
            self.gate.leave(answered=kind is None)
            self.round = None


def finished(results: list) -> int:
    """Requests that got an answer or a failure of their own (not the ones left unsent or pending)."""
    return sum(r is not None and not isinstance(r, NotSent) for r in results)


def failed(result) -> bool:
    return isinstance(result, BaseException)


def _outcome(future):
    error = future.exception()
    return future.result() if error is None else error


def gather(
    send,
    requests: list,
    concurrency: int,
    progress: Progress | None = None,
    *,
    stop_on: tuple = STOP_ON,
    clock=time.monotonic,
    into: list | None = None,
    cancel: threading.Event | None = None,
) -> Outcome:
    """Call ``send(request, control=...)`` (``LlamaSession.send``) for each :class:`Request`, ``concurrency`` at a time.

    Anything else in ``requests`` is already an outcome and is kept: an exception (a request that
    could not be built) or an answer (reused from the log). A failure of a kind in ``stop_on``
    stops the run: nothing more is sent. ``into`` is the list the outcomes are written to as
    they arrive (a background run's result); setting ``cancel`` stops sending and lets the
    requests in flight finish.
    """
    progress = progress or Progress(clock)
    halt = threading.Event()  # set on an interrupt or a stop: workers then send nothing more
    cancel = cancel or threading.Event()  # a cancel reaches the workers at once, as a halt does

    def stopped() -> bool:
        return halt.is_set() or cancel.is_set()

    gate = AdaptiveConcurrency(concurrency, clock)
    todo = [i for i, r in enumerate(requests) if isinstance(r, Request)]
    controls = {i: Control(gate, stopped) for i in todo}

    def task(i):
        if stopped():
            raise NotSent("Not sent: the run had stopped")
        try:
            with controls[i] as control:
                return send(requests[i], control=control)
        except stop_on:
            halt.set()
            raise

    results = into if into is not None else []
    results[:] = [None if isinstance(r, Request) else r for r in requests]
    started = clock()
    progress.start(len(requests))
    pool = ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(todo))), thread_name_prefix="dataoorts")
    futures: dict = {}
    interrupted, stopped_by, cancelled = False, None, False
    try:
        for i in todo:
            futures[pool.submit(task, i)] = i
        pending = set(futures)
        while pending:
            if cancel.is_set() and not cancelled:
                cancelled = True
                halt.set()
                pending = {f for f in pending if not f.cancel()}  # those already running finish
            finished, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in finished:
                result = results[futures[future]] = _outcome(future)
                if stopped_by is None and isinstance(result, stop_on):
                    stopped_by = result
                    pending = {f for f in pending if not f.cancel()}  # those already running finish
            progress.update(*_counts(results), waiting=gate.waiting(), concurrency=(gate.limit, gate.most))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        halt.set()
        pool.shutdown(wait=False, cancel_futures=True)  # never wait here: an interrupt must be prompt
    if cancel.is_set() and not interrupted and stopped_by is None:  # seen by the workers before this loop
        cancelled = cancelled or any(r is None or isinstance(r, NotSent) for r in results)
    reason = (
        "the run was interrupted"
        if interrupted
        else "the run was cancelled"
        if cancelled
        else f"the run stopped at an earlier failure ({type(stopped_by).__name__})"
    )
    for future, i in futures.items():
        if results[i] is None and future.done() and not future.cancelled():
            results[i] = _outcome(future)  # arrived while we were being interrupted: keep it
        if results[i] is None or isinstance(results[i], NotSent):
            in_flight = controls[i].started  # sent at least once, no answer kept
            results[i] = (
                NoAnswer(f"No answer: {reason} while this request was in flight")
                if in_flight
                else NotSent(f"Not sent: {reason}")
            )
    note = "interrupted" if interrupted else "cancelled" if cancelled else "stopped" if stopped_by is not None else ""
    if note:
        note += " · " + sent_line(results)
    progress.finish(*_counts(results), note=note)
    sent = sum(c.started for c in controls.values())
    return Outcome(results, clock() - started, interrupted, stopped_by, cancelled, sent, gate.refusals)


def _counts(results: list) -> tuple[int, int]:
    """(done, failed) among results so far (None = not done yet): done is answered or failed on its own;
    an item not sent, or whose answer was abandoned, is neither ("failed" is for a request that was sent
    and failed on its own; how many were sent and not sent is ``sent_line``'s)."""
    done = [r for r in results if r is not None and not isinstance(r, NotSent)]
    return len(done), sum(failed(r) for r in done)


def sent_line(results: list) -> str:
    """``46 of 150 sent, 104 not sent``: how far a stopped run got (INTERFACE section 5)."""
    unsent = sum(never_sent(r) for r in results)
    return f"{len(results) - unsent} of {len(results)} sent, {unsent} not sent"


def verdict(run, noun: str, out: str | None) -> str | None:
    """The one line that fails the cell after many requests, or None when it should pass.

    ``run`` has ``results``, ``interrupted`` and ``stopped_by`` (an :class:`Outcome` or a
    ``BatchResult``). The cell fails when interrupted, stopped, or when every request failed.
    """
    total, done = len(run.results), run.finished
    kept = f" The finished ones are in {out}." if out and done else ""
    if run.interrupted:
        return f"Interrupted: the {noun} stopped after {done} of {total} requests.{kept}"
    if run.stopped_by is not None:
        return (
            f"{str(run.stopped_by).rstrip('.')} (the {noun} stopped after {done} of {total} requests; "
            f"the rest were not sent).{kept}"
        )
    if total and all(failed(r) for r in run.results):
        first = run.results[0]
        return f"All {total} requests of the {noun} failed; the first: {first}" if total > 1 else str(first)
    return None
