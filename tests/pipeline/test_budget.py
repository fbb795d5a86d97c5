"""budget=: a request whose worst case would pass the cap is refused before anything is sent."""

from __future__ import annotations

import concurrent.futures

import pytest
from support.shell import run

from dataoorts_magic.params import cost, format_cost
from dataoorts_magic.pipeline.budget import Spending, worst_prompt_tokens

DEFAULT = "meta/llama-3.1-8b-instruct"


@pytest.fixture(autouse=True)
def fresh_session(ip, magics):
    """Nothing spent yet, as in a kernel that just loaded the extension."""
    magics.llama_session.spending = Spending()
    magics.llama_session.conversations.clear()


def worst_case(prompt: str, max_tokens: int) -> float:
    return cost(DEFAULT, worst_prompt_tokens([{"role": "user", "content": prompt}]), max_tokens)


def test_a_request_that_could_pass_the_cap_is_refused_before_sending(ip, online, magics):
    worst = worst_case("Hello", 1000)
    run(ip, f"%llama_config budget={worst * 1.01!r}")
    result, cap = run(ip, "%%llama -n 1000 -o r\nHello")  # fits: nothing spent yet
    assert result.success, cap.stderr
    spent = magics.llama_session.spent
    assert spent == pytest.approx(ip.user_ns["r"].cost) and spent > 0

    count = online.count
    result, cap = run(ip, "%%llama -n 1000\nHello")  # spent + worst case > cap
    assert not result.success and online.count == count
    line = cap.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert f"has spent {format_cost(spent)} of its {format_cost(worst * 1.01)} budget" in line
    assert f"could cost up to {format_cost(worst)}" in line and "nothing was sent" in line
    assert "budget=none" in line

    result, _ = run(ip, "%%llama -n 10\nHello")  # a smaller worst case still fits
    assert result.success and online.count == count + 1


def test_no_budget_no_check_and_budget_none_removes_it(ip, online):
    run(ip, "%llama_config budget=0")
    result, cap = run(ip, "%%llama -n 10\nHi")
    assert not result.success and online.count == 0 and "Budget reached" in cap.stderr
    run(ip, "%llama_config budget=none")
    result, _ = run(ip, "%%llama -n 10\nHi")
    assert result.success and online.count == 1


def test_cached_answers_cost_nothing_and_pass_a_spent_budget(ip, online):
    run(ip, "%llama_config cache=on")
    run(ip, "%%llama -n 30\nAsked before")
    run(ip, "%llama_config budget=0")
    result, cap = run(ip, "%%llama -n 30\nAsked before")
    assert result.success and online.count == 1
    assert "cached" in cap.outputs[-1].data["text/plain"]


def test_a_model_with_unknown_price_is_refused_under_a_budget(ip, online):
    run(ip, "%llama_config budget=1")
    result, cap = run(ip, "%%llama -m someone/new-model -n 10\nHi")
    assert not result.success and online.count == 0
    assert "price of someone/new-model is unknown" in cap.stderr


def test_requests_in_flight_together_cannot_pass_the_cap():
    spending = Spending()
    worst = cost(DEFAULT, 10, 1000)
    held = spending.reserve(DEFAULT, 10, 1000, budget=worst * 1.5)  # the first request is in flight
    # Issue 19 (7): the second is not refused for the first's reservation (which may cost less): it waits.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        second = pool.submit(spending.reserve, DEFAULT, 10, 1000, budget=worst * 1.5)
        with pytest.raises(concurrent.futures.TimeoutError):
            second.result(timeout=1.0)  # both at once could pass the cap: it is not sent yet
        spending.settle(held, DEFAULT, None, worst / 4)
        assert second.result(timeout=30) == worst  # the first cost less than its worst case
    assert spending.spent == pytest.approx(worst / 4)
