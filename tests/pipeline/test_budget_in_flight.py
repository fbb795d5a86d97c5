"""Issue 19, failures 7 and 8: the budget with many requests in flight.

7: an item refused only because of reservations still in flight waits for them to settle, so the
same number of items is answered at any ``-j``. 8: a server that reports usage far past
``max_tokens`` can pass the cap only with the answers already in flight, and usage is not trusted
until an answer showed it within ``max_tokens``: so with a fresh session, one request.
"""

from __future__ import annotations

import pytest
from support.scripted_server import Answer
from support.shell import KEY, everything_shown, frames_holding, run, verbose_tracebacks

from dataoorts_magic.errors import BudgetExceededError
from dataoorts_magic.pipeline.budget import Spending


def honest(seen):
    usage = {"prompt_tokens": 9, "completion_tokens": 1}
    return Answer(body={"success": True, "result": {"response": "ok", "usage": usage}})


def greedy(seen):
    usage = {"prompt_tokens": 9, "completion_tokens": 100_000}  # for -n 1
    return Answer(body={"success": True, "result": {"response": "ok", "usage": usage}})


@pytest.fixture(autouse=True)
def fresh_session(magics):
    magics.llama_session.spending = Spending()
    yield
    magics.llama_session.spending = Spending()  # what this test spent is not the next one's


def answered_at(ip, magics, scripted, jobs: int) -> int:
    magics.llama_session.spending = Spending()
    scripted.requests.clear()
    ip.user_ns["xs"] = [f"item {i}" for i in range(200)]
    with verbose_tracebacks(ip):
        result, cap = run(ip, f"%%llama --over xs -j {jobs} -n 1 --no-cache -q -o B\nSay {{item}}")
    assert KEY not in everything_shown(cap)
    batch = ip.user_ns["B"]
    refused = [e for e in batch.results if isinstance(e, BudgetExceededError)]
    assert len(refused) + len(batch.responses) == 200 and len(scripted.requests) == len(batch.responses)
    assert "more in flight" not in " ".join(map(str, refused))
    return len(batch.responses)


def test_failure_7_the_same_items_are_answered_at_any_concurrency(ip, magics, scripted):
    scripted.responder = honest
    ip.run_line_magic("llama_config", "budget=0.0001 rate_limit=0")
    counts = {jobs: answered_at(ip, magics, scripted, jobs) for jobs in (1, 4, 32)}
    assert counts[1] > 2 and counts[4] == counts[1] and counts[32] == counts[1], counts
    assert magics.llama_session.spent <= 0.0001


def test_failure_7_compare_over_eight_seeds_answers_as_many_as_fit(ip, magics, scripted):
    scripted.responder = honest
    ip.run_line_magic("llama_config", "budget=0.0001 rate_limit=0")
    result, cap = run(ip, "%%llama --compare seed=1,2,3,4,5,6,7,8 -n 1 -q -o C\nSay hi")
    assert result.success, cap.stderr
    assert len(scripted.requests) == 8 and all(hasattr(r, "text") for r in ip.user_ns["C"])


def test_failure_8_a_server_past_max_tokens_passes_the_cap_once_not_32_times(ip, magics, scripted):
    from dataoorts_magic import ask_each

    scripted.responder = greedy
    ip.run_line_magic("llama_config", "budget=0.0001 rate_limit=0")
    ip.user_ns["xs"] = [f"item {i}" for i in range(32)]
    result, cap = run(ip, "%%llama --over xs -j 32 -n 1 --no-cache -q -o B\nSay {item}")
    assert len(scripted.requests) == 1  # was 32: $0.256 against a $0.0001 cap
    assert len(ip.user_ns["B"].responses) == 1
    assert KEY not in everything_shown(cap)
    spent = magics.llama_session.spent
    with verbose_tracebacks(ip):
        out = ask_each([f"more {i}" for i in range(32)], "Say {item}", concurrency=32, max_tokens=1)
    assert len(scripted.requests) == 1 and magics.llama_session.spent == spent  # past the cap: nothing sent
    assert all(isinstance(e, BudgetExceededError) for e in out.results) and len(out.errors) == 32
    assert frames_holding(out.results[0], KEY) == []


def test_failure_8_an_honest_server_is_trusted_after_its_first_answer(ip, magics, scripted):
    scripted.responder = honest
    ip.run_line_magic("llama_config", "budget=1 rate_limit=0")
    ip.user_ns["xs"] = [f"item {i}" for i in range(16)]
    result, cap = run(ip, "%%llama --over xs -j 8 -n 1 --no-cache -q -o B\nSay {item}")
    assert result.success, cap.stderr
    assert len(ip.user_ns["B"].responses) == 16
