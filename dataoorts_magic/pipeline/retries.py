"""The one retry loop: every HTTP attempt takes its turn from the rate limiter, and every failure is
retried or raised here, in the manner of openai-python's ``_base_client`` (one loop over the
policy's ``wait``).

The client makes one attempt per call (``DataoortsClient.exchange_once``); this loop counts the
attempts and does every wait through :meth:`RateLimiter.acquire <.rate_limit.RateLimiter.acquire>`,
so an interrupt or a cancelled batch stops any of them at once:

- **Transient faults** (connection errors, timeouts, 408, 5xx, code 3007; INTERFACE section 7):
  retried up to ``max_retries`` times after the policy's backoff (0.5 s doubling to 8 s, minus
  up to a quarter of jitter) or the server's ``Retry-After``; a ``Retry-After`` over the cap
  fails at once. 401/403, 3036/4006 and everything else are not retryable: raised at once.
- **Refusals for the rate limit** (429 or code 3040, not a used-up quota) hold *every* request of
  the session until their ``Retry-After`` has passed (a doubling backoff when the server names no
  wait), then the request goes again. A request on its own (a cell, the panel) counts each
  refusal as one of its ``max_retries``. In a batch (a ``control`` given) the refusals do not use
  up ``max_retries``, which still bounds the other faults; the batch is told of each refusal
  (``control.rate_limited(wait)``: it halves its concurrency), and a refused request gives up with
  :class:`~dataoorts_magic.errors.RateLimitStalledError` when the session got no answer for
  :data:`~.rate_limit.PATIENCE` seconds or the server asks for a wait over
  :data:`~.rate_limit.MAX_WAIT` (a quota or an outage, not a rate limit).

An error raised here says every retry its request made (``err.retries``), and an answer says how
it went: ``retries``, ``waited``, ``elapsed`` (waits included) and a footer note per retry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..client.envelope import Reply
from ..client.retry_policy import RetryPolicy, describe, is_rate_limited
from ..errors import LlamaError, RateLimitStalledError
from . import rate_limit
from .rate_limit import RateLimiter


class Control(Protocol):
    """What a batch hands each of its requests (``batch.runner.Control``)."""

    def check(self) -> None: ...

    def before_attempt(self) -> None: ...

    def rate_limited(self, wait: float) -> None: ...


def send_with_retries(
    attempt: Callable[[], Reply],
    limiter: RateLimiter,
    policy: RetryPolicy,
    *,
    per_minute: int = 0,
    control: Control | None = None,
    on_retry: Callable[[str], object] | None = None,
) -> Reply:
    """``attempt()`` until it answers, each try after its turn under ``per_minute`` (0: no pacing).

    Returns the attempt's ``Reply`` with ``retries``, ``waited``, ``elapsed`` and the retry notes;
    or raises the last error, its ``retries`` set. ``on_retry(line)`` hears of each retry before its wait.
    """
    clock = limiter.clock
    started = clock()
    used = 0  # retries counted against max_retries
    faults = refused = 0  # retries after a transient fault; refusals for the rate limit
    waited = refused_wait = 0.0
    not_before = 0.0  # this request's own wait (a transient fault's backoff)
    notes: list[str] = []
    first_refusal: float | None = None
    check = control.check if control is not None else None
    while True:
        queued = limiter.acquire(per_minute, check, not_before=not_before)
        if faults or refused:
            waited += queued
        if control is not None:
            control.before_attempt()
        try:
            reply = attempt()
        except LlamaError as err:
            if is_rate_limited(err) and err.retryable:  # not a stream cut after its text was shown
                if first_refusal is None:
                    first_refusal = clock()
                wait = err.retry_after if err.retry_after is not None else policy.backoff(refused)
                if control is None:
                    if used >= policy.max_retries or wait > rate_limit.MAX_WAIT:
                        raise _counted(err, used) from None
                    used += 1
                elif wait > rate_limit.MAX_WAIT or clock() - max(limiter.last_answer, first_refusal) >= (
                    rate_limit.PATIENCE
                ):
                    raise _stalled(err, wait, stalled=wait <= rate_limit.MAX_WAIT) from None
                limiter.hold(wait)
                refused, refused_wait, not_before = refused + 1, refused_wait + wait, 0.0
                if on_retry is not None:
                    on_retry(f"{describe(err)}, rate limited: waiting {wait:.1f} s")
                if control is not None:
                    control.rate_limited(wait)
                continue
            delay = policy.wait(err, used, faults)
            if delay is None:
                raise _counted(err, used) from None
            if on_retry is not None:
                on_retry(f"{describe(err)}, retrying in {delay:.1f} s (retry {used + 1} of {policy.max_retries})")
            notes.append(f"retried after {describe(err)} (waited {delay:.1f} s)")
            used, faults, not_before = used + 1, faults + 1, clock() + delay
            continue
        limiter.answered()
        reply.elapsed, reply.retries, reply.waited = clock() - started, faults + refused, waited
        if refused:
            times = "once" if refused == 1 else f"{refused} times"
            notes.insert(0, f"retried {times} after a rate limit (waited {refused_wait:.1f} s)")
        reply.notes[:0] = notes
        return reply


def _counted(err: LlamaError, retries: int) -> LlamaError:
    """``err``, saying every retry its request made."""
    if retries != err.retries:
        err.retries = retries
        err.refresh()
    return err


def _stalled(err: LlamaError, wait: float, *, stalled: bool) -> RateLimitStalledError:
    if stalled:
        detail = (
            f"No answer for {rate_limit.PATIENCE / 60:.0f} min: the server kept refusing requests for its rate limit"
        )
    else:
        detail = (
            f"The server asks to wait {wait:.0f} s for its rate limit, "
            f"longer than a batch waits ({rate_limit.MAX_WAIT:.0f} s)"
        )
    return RateLimitStalledError(
        detail,
        status=err.status,
        code=err.code,
        provider_message=err.provider_message,
        retry_after=err.retry_after,
    )
