"""Fair shares: round-robin turns per student under the class's rate, and the provider's 429 slowing everyone once."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from support.gateway_kit import body

from dataoorts_magic.gateway.pacing import ClassQueue, StudentWindow, spacing


def test_turns_are_spread_evenly_a_little_further_apart_than_the_rate_needs():
    assert spacing(300) == 0.2 * 1.05 and spacing(600) == 0.1 * 1.05


def test_a_single_question_is_served_next_round_while_a_classmate_has_a_long_batch():
    async def scenario():
        queue, order = ClassQueue(rate=600), []

        async def ask(student, i):
            await queue.turn(student)
            order.append((student, i))

        batch = [asyncio.ensure_future(ask("batch", i)) for i in range(40)]
        while len(order) < 5:  # the batch is under way
            await asyncio.sleep(0.01)
        await ask("single", 0)
        position = order.index(("single", 0))
        for task in batch:
            task.cancel()
        return position

    assert asyncio.run(scenario()) <= 6  # the next turn, or the one after


def test_never_more_than_rate_over_sixty_starts_in_any_one_second_window():
    async def scenario():
        queue, starts = ClassQueue(rate=240), []

        async def ask(i):
            await queue.turn(f"s{i}")
            starts.append(time.monotonic())

        await asyncio.gather(*(ask(i) for i in range(9)))
        return starts

    starts = asyncio.run(scenario())
    for first in starts:
        assert sum(first <= t < first + 1.0 for t in starts) <= 4


def test_a_students_own_rate_counts_a_rolling_minute():
    now = [0.0]
    window = StudentWindow(clock=lambda: now[0])
    assert [window.admit("a", 2) for _ in range(3)] == [0.0, 0.0, 60.0]
    now[0] = 59.5
    assert window.admit("a", 2) == 1.0 and window.admit("b", 2) == 0.0 and window.admit("c", None) == 0.0
    now[0] = 60.0
    assert window.admit("a", 2) == 0.0


def test_a_providers_429_holds_the_whole_class_once_and_no_request_is_lost(gateway, upstream):
    tokens = [gateway.student(f"kid{i}") for i in range(5)]
    upstream.enqueue({"status": 429, "retry_after": 1})

    def ask(token):
        return requests.post(gateway.url, json=body(), headers={"Authorization": f"Bearer {token}"}, timeout=30)

    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(ask, tokens))
    assert [a.status_code for a in answers] == [200] * 5
    assert upstream.count == 6  # one refused, asked again after the wait
    admin = gateway.admin()
    seen = requests.get(gateway.base + "usage.json", headers={"Authorization": f"Bearer {admin}"}).json()
    assert [(x["status"], x["retry_after"]) for x in seen["upstream_429"]] == [(429, 1.0)]
    assert sum(s["requests"] for s in seen["students"]) == 5
