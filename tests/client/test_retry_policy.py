"""The retry policy as pure functions: what is retried, how long the waits are, what a server asked for."""

from __future__ import annotations

import email.utils
import time

from dataoorts_magic.client.retry_policy import backoff_delay, retry_after_seconds, should_retry


def test_should_retry_table():
    for status in (408, 429, 500, 502, 503, 504):
        assert should_retry(status, None), status
    for status in (200, 400, 401, 403, 404, 409, 413, 422, 501):
        assert not should_retry(status, None), status
    assert should_retry(200, 3040) and should_retry(503, 3040) and should_retry(429, 3040)
    for code in (3036, 4006, 10000, 5006, 5007, 3042, 3006):
        assert not should_retry(429, code) and not should_retry(503, code), code


def test_backoff_policy():
    assert [backoff_delay(n, rand=lambda: 0.0) for n in range(7)] == [0.5, 1, 2, 4, 8, 8, 8]
    assert [backoff_delay(n, rand=lambda: 1.0) for n in range(5)] == [0.375, 0.75, 1.5, 3, 6]


def test_retry_after_parsing():
    assert retry_after_seconds({"Retry-After": "7"}) == 7
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= retry_after_seconds({"Retry-After": future}) <= 30
    assert retry_after_seconds({"Retry-After": email.utils.formatdate(time.time() - 30, usegmt=True)}) == 0
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5


def test_a_retry_after_that_is_not_a_finite_non_negative_wait_is_ignored():
    for headers in (
        {"retry-after-ms": "nan"},
        {"retry-after-ms": "inf"},
        {"retry-after-ms": "-1500"},
        {"retry-after-ms": "1e400"},
        {"Retry-After": "-5"},
    ):
        assert retry_after_seconds(headers) is None, headers
    assert retry_after_seconds({"retry-after-ms": "nan", "Retry-After": "3"}) == 3  # the other header still counts
