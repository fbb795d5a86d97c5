"""The retry policy: which failures are worth another try, and how long to wait before it.

It is the OpenAI Python SDK's: 2 retries, 0.5 s doubling to 8 s with jitter, ``Retry-After``
honoured up to 60 s; 408, 429 and 5xx answers, the provider's own capacity and timeout codes and
connection errors are retried, nothing else. Pure: the request pipeline's one retry loop
(``pipeline/retries.py``) asks :class:`RetryPolicy` and does the waiting.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import urllib3.exceptions
from urllib3.util.retry import Retry

from ..errors import CODE_ERRORS, LlamaError, RateLimitError, RequestTimeoutError

DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RETRY_CODES = frozenset({3040, 3007})  # out of capacity; the provider's own "timeout" (its 408)
NEVER_RETRY_CODES = frozenset(CODE_ERRORS) - RETRY_CODES  # auth, bad input, no model, too large, quota
_RETRY_HEADER = Retry(total=0)  # only for its Retry-After parser (seconds or an HTTP date)


def should_retry(status: int | None, code: int | None) -> bool:
    """Whether an HTTP answer (status, provider code) is worth another try; the code decides first."""
    if code in RETRY_CODES:
        return True
    if code in NEVER_RETRY_CODES:
        return False
    return status in RETRY_STATUSES


def is_rate_limited(err: LlamaError) -> bool:
    """A refusal that waiting cures: HTTP 429 or code 3040 (out of capacity), not a used-up quota (3036/4006)."""
    return err.code == 3040 or isinstance(err, RateLimitError)


def backoff_delay(
    retry: int,
    base: float = INITIAL_RETRY_DELAY,
    cap: float = MAX_RETRY_DELAY,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds before retry number ``retry`` (0-based): base doubling to cap, minus up to 25 % jitter."""
    return min(base * 2**retry, cap) * (1 - 0.25 * rand())


def _usable(seconds: float) -> float | None:
    """A wait the backoff may take: finite and not negative (``nan``, ``inf``, ``-5`` are ignored)."""
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def retry_after_seconds(headers) -> float | None:
    """The wait a server asked for (``Retry-After`` seconds or HTTP date, or ``retry-after-ms``).

    A value that is not a finite, non-negative number is ignored, so the backoff applies.
    """
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            wait = _usable(float(millis) / 1000)
        except (ValueError, OverflowError):
            wait = None
        if wait is not None:
            return wait
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return _usable(float(_RETRY_HEADER.parse_retry_after(value)))
    except (urllib3.exceptions.InvalidHeader, ValueError, OverflowError):
        return None


def wait_before_retry(
    err: LlamaError,
    retries: int,
    limit: int,
    *,
    base: float = INITIAL_RETRY_DELAY,
    cap: float = MAX_RETRY_DELAY,
    retry_after_cap: float = MAX_RETRY_AFTER,
) -> float | None:
    """Seconds to wait before trying again after ``err`` (``retries`` made so far), or None to give up."""
    if not err.retryable or retries >= limit:
        return None
    if err.retry_after is not None and err.retry_after > retry_after_cap:
        return None  # the error says how long the server wants; don't block the kernel that long
    if err.retry_after:
        return err.retry_after
    return backoff_delay(retries, base, cap)


def describe(err: LlamaError) -> str:
    """What failed, in a few words, for a retry line: ``HTTP 503 (code 3040)``, ``a timeout``."""
    if err.status:
        return f"HTTP {err.status}" + (f" (code {err.code})" if err.code else "")
    return "a timeout" if isinstance(err, RequestTimeoutError) else "a connection error"


class RetryPolicy:
    """How many retries and how long each wait: ``max_retries``, the backoff's ``base`` and ``cap``,
    and the longest ``Retry-After`` worth waiting (``retry_after_cap``). Tests make the waits small."""

    __slots__ = ("max_retries", "base", "cap", "retry_after_cap")

    def __init__(
        self,
        max_retries: int = DEFAULT_MAX_RETRIES,
        *,
        base: float = INITIAL_RETRY_DELAY,
        cap: float = MAX_RETRY_DELAY,
        retry_after_cap: float = MAX_RETRY_AFTER,
    ):
        self.max_retries, self.base, self.cap, self.retry_after_cap = max_retries, base, cap, retry_after_cap

    def __repr__(self):
        return f"RetryPolicy(max_retries={self.max_retries}, base={self.base}, cap={self.cap})"

    def wait(self, err: LlamaError, used: int, backoff_step: int) -> float | None:
        """Seconds before the next try after ``err`` (``used`` retries spent, the backoff at
        ``backoff_step``), or None when ``err`` is not worth another try or no retry is left."""
        if used >= self.max_retries:
            return None
        return wait_before_retry(
            err, backoff_step, backoff_step + 1, base=self.base, cap=self.cap, retry_after_cap=self.retry_after_cap
        )

    def backoff(self, step: int) -> float:
        """The backoff's wait at ``step`` (0-based): when the server names no wait."""
        return backoff_delay(step, self.base, self.cap)
