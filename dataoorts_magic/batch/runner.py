"""Send many prepared requests a few at a time and keep every outcome in input order.

Used by ``--over`` and ``--compare``. Requests go through the caller's ``send`` (the
session's, so budget, cache and log apply to each) on a small thread pool; the kernel's
main thread only waits, records outcomes and moves the progress bar. A failed request
keeps its error and the others go on, except for failures every other request would
repeat (no key, authentication, quota, no such model): then nothing more is sent. (A
budget refusal is not one of them: it sends nothing, and a later, smaller request may fit.)
A kernel interrupt stops it at once: nothing more is sent, requests in flight are
abandoned, and the outcomes that had arrived are kept.
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
    LlamaError,
    ModelNotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
)

POLL_SECONDS = 0.1  # the main thread wakes at least this often, so an interrupt lands at once
# Failures that every later request would repeat: stop instead of sending them all (and a
# provider blocks addresses after repeated failed authentication).
STOP_ON = (ConfigError, AuthenticationError, PermissionDeniedError, ModelNotFoundError, QuotaExceededError)


class NotSent(LlamaError):
    """The place of a request that was not sent, or whose answer was abandoned."""

    what = "Not sent"


@dataclass
class Outcome:
    """What ``gather`` returns: one response or exception per request, and how the run ended."""

    results: list
    elapsed: float
    interrupted: bool = False
    stopped_by: BaseException | None = None

    @property
    def finished(self) -> int:
        return finished(self.results)


def finished(results: list) -> int:
    """Requests that got an answer or a failure of their own (not the ones left unsent)."""
    return sum(not isinstance(r, NotSent) for r in results)


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
) -> Outcome:
    """Call ``send(request)`` for each request, ``concurrency`` at a time; an exception in
    ``requests`` stands for a request that could not be built and is kept as its outcome.
    A failure of a kind in ``stop_on`` stops the run: nothing more is sent."""
    progress = progress or Progress(clock)
    halt = threading.Event()  # set on an interrupt or a stop: workers then send nothing more

    def task(request):
        if halt.is_set():
            raise NotSent("Not sent: the run had stopped")
        try:
            return send(request)
        except stop_on:
            halt.set()
            raise

    results: list = [r if isinstance(r, BaseException) else None for r in requests]
    todo = [i for i, r in enumerate(requests) if not isinstance(r, BaseException)]
    started = clock()
    progress.start(len(requests))
    pool = ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(todo))), thread_name_prefix="dataoorts")
    futures: dict = {}
    interrupted, stopped_by = False, None
    try:
        for i in todo:
            futures[pool.submit(task, requests[i])] = i
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in finished:
                result = results[futures[future]] = _outcome(future)
                if stopped_by is None and isinstance(result, stop_on):
                    stopped_by = result
                    pending = {f for f in pending if not f.cancel()}  # those already running finish
            progress.update(*_counts(results))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        halt.set()
        pool.shutdown(wait=False, cancel_futures=True)  # never wait here: an interrupt must be prompt
    reason = (
        "the run was interrupted"
        if interrupted
        else f"the run stopped at an earlier failure ({type(stopped_by).__name__})"
    )
    for future, i in futures.items():
        if results[i] is None and future.done() and not future.cancelled():
            results[i] = _outcome(future)  # arrived while we were being interrupted: keep it
        if results[i] is None and future.running():
            results[i] = NotSent(f"No answer: {reason} while this request was in flight")
        elif results[i] is None or isinstance(results[i], NotSent):
            results[i] = NotSent(f"Not sent: {reason}")
    note = "interrupted" if interrupted else "stopped" if stopped_by is not None else ""
    progress.finish(*_counts(results), note=note)
    return Outcome(results, clock() - started, interrupted, stopped_by)


def _counts(results: list) -> tuple[int, int]:
    """(done, failed) among results so far (None = not done yet)."""
    done = [r for r in results if r is not None]
    return len(done), sum(failed(r) for r in done)


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
