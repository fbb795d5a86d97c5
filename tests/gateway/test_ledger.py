"""No student's spend passes their budget, whatever the concurrency, with one or two gateways on one ledger."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from support.gateway_kit import ACCOUNT_KEY, body

from dataoorts_magic.gateway.ledger import Ledger, nano
from dataoorts_magic.gateway.tokens import new_token, token_hash
from dataoorts_magic.gateway.wire import price


def test_reservations_from_many_threads_and_ledgers_never_pass_the_budget(db_url):
    ledgers = [Ledger(db_url) for _ in range(3)]  # three engines: as three gateway processes would hold
    ledgers[0].add_student("ann", 1000, None, None)
    with ThreadPoolExecutor(12) as pool:
        held = list(pool.map(lambda i: ledgers[i % 3].reserve("ann", 70), range(60)))
    assert sum(h is not None for h in held) == 14  # 14 x 70 = 980 <= 1000 < 15 x 70
    assert ledgers[1].student("ann").reserved == 980


def test_a_charge_never_passes_the_hold_and_a_failure_costs_nothing(db_url):
    ledger = Ledger(db_url)
    ledger.add_student("ben", nano(0.01), None, None)
    row = {"time": time.time(), "model": "m", "status": 200, "elapsed": 0.1, "prompt_tokens": 1, "completion_tokens": 9}
    assert ledger.reserve("ben", 500)
    ledger.settle("ben", 500, 10_000, row)  # the provider reported more than max_tokens allows
    assert ledger.reserve("ben", 500)
    ledger.settle("ben", 500, 0, {**row, "status": 502})
    ben = ledger.student("ben")
    assert (ben.spent, ben.reserved, ben.requests) == (500, 0, 1)
    assert ledger.charged_total() == 500


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, process, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"the gateway did not listen on {port}")


@pytest.fixture
def second_process(postgres, upstream, tmp_path):
    """A second gateway as its own process (the CLI), on the same PostgreSQL database."""
    url = postgres.new_database()
    port = free_port()
    env = {**os.environ, "DATAOORTS_API_KEY": ACCOUNT_KEY, "DATAOORTS_API_URL": upstream.url}
    command = [sys.executable, "-m", "dataoorts_magic.cli", "gateway", "serve", "--db", url, "--port", str(port)]
    with open(tmp_path / "out.txt", "w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(port, process)
        yield url, f"http://127.0.0.1:{port}/api/v1", tmp_path / "out.txt"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_two_gateway_processes_on_one_postgresql_keep_every_budget(start_gateway, second_process, upstream):
    url, other, printed = second_process
    first = start_gateway(db=url)
    budget = price(body()["model"], 20, 64) * 6  # about six answers each
    tokens = {}
    for name in ("amy", "bob", "cat", "dan"):
        tokens[name] = new_token()
        first.ledger.add_student(name, budget, None, token_hash(tokens[name]))

    def ask(i: int):
        name = list(tokens)[i % 4]
        where = first.url if i % 2 else other
        return name, requests.post(where, json=body("Hi"), headers={"Authorization": f"Bearer {tokens[name]}"})

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(ask, range(96)))
    ok = [(n, r.json()["result"]["usage"]) for n, r in answers if r.status_code == 200]
    refused = [r.json()["errors"][0]["code"] for _, r in answers if r.status_code != 200]
    assert ok and set(refused) == {3036} and len(ok) + len(refused) == 96
    rows = {s.name: s for s in first.ledger.students()}
    for name in tokens:
        assert rows[name].spent <= budget and rows[name].reserved == 0
    bill = sum(price(body()["model"], u["prompt_tokens"], u["completion_tokens"]) for _, u in ok)
    assert first.ledger.charged_total() == bill == sum(s.spent for s in rows.values())
    assert upstream.count == len(ok)  # nothing refused was forwarded, nothing answered went unbilled
    assert ACCOUNT_KEY not in printed.read_text()


def test_a_gateway_keeps_answering_after_postgresql_drops_its_connections(start_gateway, postgres, upstream):
    import psycopg
    from sqlalchemy.engine import make_url

    url = postgres.new_database()
    running = start_gateway(db=url)
    token = new_token()
    running.ledger.add_student("eve", nano(1.0), None, token_hash(token))
    ask = lambda: requests.post(running.url, json=body("Hi"), headers={"Authorization": f"Bearer {token}"})  # noqa: E731
    assert ask().status_code == 200
    with psycopg.connect(host=postgres.dir, user="postgres", dbname=make_url(url).database) as db:
        cut = db.execute(  # as a restart or an idle timeout would: every other session ends (waited for, 5 s at most)
            "SELECT bool_and(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert cut
    answer = ask()
    assert answer.status_code == 200, answer.text
    eve = running.ledger.student("eve")
    assert (eve.requests, eve.reserved) == (2, 0) and eve.spent == running.ledger.charged_total() > 0
