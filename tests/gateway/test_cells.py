"""The student's view: a real ``%%llama`` cell in an InteractiveShell pointed at the gateway with a token.

Each refusal is one line in the cell whose only advice is the gateway's ("ask your teacher"), never
the extension's advice for a Dataoorts account of one's own; nothing of the account key shows.
"""

from __future__ import annotations

import re

import pytest
from support.gateway_kit import ACCOUNT_KEY
from support.shell import everything_shown, fails_in_one_line, run


@pytest.fixture
def student(gateway, monkeypatch):
    """Point the kernel at the gateway as a student: DATAOORTS_API_URL and their token as the key."""

    def become(name: str, **options) -> str:
        token = gateway.student(name, **options)
        monkeypatch.setenv("DATAOORTS_API_URL", gateway.url)
        monkeypatch.setenv("DATAOORTS_API_KEY", token)
        return token

    return become


def test_a_cell_is_answered_through_the_gateway_and_billed_to_the_student(ip, gateway, student):
    student("lia")
    result, captured = run(ip, "%%llama -n 40\nExplain a median in one line.")
    assert result.success, captured.stderr
    shown = everything_shown(captured)
    assert "meta/llama-3.1-8b-instruct" in shown and ACCOUNT_KEY not in shown
    assert gateway.ledger.student("lia").requests == 1


def test_a_used_up_budget_is_one_line_that_says_ask_your_teacher(ip, gateway, student):
    student("max", budget=0.0)
    line = fails_in_one_line(ip, "%%llama\nHello")
    assert "budget used up: $0.00 of $0.00; ask your teacher" in line and "code 3036" in line
    assert line == (
        "UsageError: The class gateway refused the request "
        "(HTTP 429, code 3036: budget used up: $0.00 of $0.00; ask your teacher)"
    )
    assert gateway.ledger.recent_requests()[0].status == 429  # refused once: 3036 is never retried


def test_a_pause_is_one_line_with_the_teachers_message(ip, gateway, student):
    student("nia")
    gateway.ledger.set_state(paused="1", pause_message="Exam in progress: no AI until 11:00")
    gateway.server.gateway.forget_state()
    line = fails_in_one_line(ip, "%%llama\nHello")
    assert "HTTP 403" in line and "Exam in progress: no AI until 11:00 (ask your teacher)" in line
    assert line == (
        "UsageError: The class gateway refused the request "
        "(HTTP 403, code 9403: Exam in progress: no AI until 11:00 (ask your teacher))"
    )


def test_a_long_pause_message_still_ends_with_whom_to_ask(ip, gateway, student):
    student("nell")
    gateway.ledger.set_state(paused="1", pause_message="Exam " * 40)
    gateway.server.gateway.forget_state()
    line = fails_in_one_line(ip, "%%llama\nHello")
    assert line.startswith("UsageError: The class gateway refused the request (HTTP 403, code 9403: Exam Exam")
    assert line.endswith("… (ask your teacher))"), line


def test_a_wrong_token_is_one_line_that_says_whom_to_ask(ip, gateway, student, monkeypatch):
    student("oz")
    monkeypatch.setenv("DATAOORTS_API_KEY", "dmg-not-a-real-token")
    line = fails_in_one_line(ip, "%%llama\nHello")
    assert "HTTP 401, code 10000: Unknown gateway token: ask your teacher for yours" in line
    assert line == (
        "UsageError: The class gateway refused the request "
        "(HTTP 401, code 10000: Unknown gateway token: ask your teacher for yours)"
    )


def test_a_students_rate_refusal_is_one_line_with_the_wait(ip, gateway, student):
    student("pip", rate=1)
    run(ip, "%llama_config max_retries=0")  # a batch would wait out Retry-After; one cell shows the refusal
    assert run(ip, "%%llama -n 20\nFirst question")[0].success
    line = fails_in_one_line(ip, "%%llama -n 20\nSecond question")
    assert "HTTP 429" in line and "Your limit of 1 request a minute is reached" in line
    # the wait is the gateway's own advice, with its alternative; the extension adds none of its own
    assert re.fullmatch(
        r"UsageError: The class gateway refused the request \(HTTP 429, code 9429: "
        r"Your limit of 1 request a minute is reached; wait \d+ s or ask your teacher\)",
        line,
    ), line


def test_the_accounts_daily_quota_is_the_teachers_to_raise(ip, gateway, upstream, student):
    student("rue")
    upstream.enqueue({"status": 429, "code": 3036, "message": "Daily quota exceeded"})
    line = fails_in_one_line(ip, "%%llama\nHello")
    assert line == (
        "UsageError: The class gateway refused the request "
        "(HTTP 429, code 3036: The class's daily quota at the provider is used up: tell your teacher)"
    )
    assert upstream.count == 1  # the quota is never retried


def test_a_gateway_that_cannot_reach_the_provider_says_whom_to_tell(ip, start_gateway, monkeypatch):
    gateway = start_gateway(to=_Closed())
    monkeypatch.setenv("DATAOORTS_API_URL", gateway.url)
    monkeypatch.setenv("DATAOORTS_API_KEY", gateway.student("sol"))
    run(ip, "%llama_config max_retries=0")
    line = fails_in_one_line(ip, "%%llama\nHello")
    assert re.fullmatch(
        r"UsageError: The class gateway could not get an answer \(HTTP 502, code 3043: "
        r"The gateway could not reach the provider( \(\w+\))?: tell your teacher\)",
        line,
    ), line


def test_the_providers_own_refusal_of_a_request_keeps_the_extensions_advice(ip, gateway, upstream, student):
    student("tam")
    upstream.enqueue({"status": 400, "code": 5006, "message": "Invalid input: messages is malformed"})
    line = fails_in_one_line(ip, "%%llama\nHello")
    assert line == (
        "UsageError: The server refused the request as invalid (HTTP 400, code 5006: Invalid input: messages "
        "is malformed). Check the prompt and the parameters (%llama_config shows them)."
    )


@pytest.mark.parametrize("stream", ["", " --stream"])
def test_the_footer_shows_what_is_left_of_the_budget(ip, gateway, student, stream):
    student("quin", budget=0.50)
    result, captured = run(ip, f"%%llama -n 2000{stream}\nExplain a mode in one line.")
    assert result.success, captured.stderr
    (footer,) = [line for line in captured.outputs[-1].data["text/plain"].splitlines() if line.startswith("-- meta/")]
    spent = gateway.ledger.student("quin").spent / 1e9
    held = 2000 * 80e-9  # a stream's headers leave before its cost is known: its worst case is still held
    left = 0.50 - spent - (held if stream else 0)
    assert footer.endswith(f" · ${left:.4f} left of $0.50"), footer


def test_an_endpoint_that_reports_no_budget_shows_no_such_note(ip, online):
    result, captured = run(ip, "%%llama -n 20\nHello")
    assert result.success and " left of " not in everything_shown(captured)


class _Closed:
    """An upstream nobody listens on (a port just freed): the gateway cannot reach the provider."""

    def __init__(self):
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.url = f"http://127.0.0.1:{probe.getsockname()[1]}/api/v1"
