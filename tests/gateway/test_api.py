"""POST /api/v1 as a student's kernel sees it: the provider's envelope, streams, and every refusal in order."""

from __future__ import annotations

import json
import socket

import requests
from support.gateway_kit import ACCOUNT_KEY, body

from dataoorts_magic.gateway.ledger import usd


def post(gateway, token, payload=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(gateway.url, json=payload or body(), headers=headers, timeout=30, **kwargs)


def error_of(response) -> tuple[int, int, str]:
    envelope = response.json()
    assert envelope["success"] is False and envelope["result"] is None
    (error,) = envelope["errors"]
    return response.status_code, error["code"], error["message"]


def test_an_answer_comes_back_in_the_providers_envelope_and_is_billed_to_the_student(gateway, upstream):
    token = gateway.student("ada")
    response = post(gateway, token)
    assert response.status_code == 200
    envelope = response.json()
    assert envelope["success"] is True and envelope["errors"] == []
    usage = envelope["result"]["usage"]
    assert usage["completion_tokens"] > 0 and "offline" in envelope["result"]["response"]
    # the upstream saw the account key, never the student's token
    assert upstream.requests[-1]["headers"]["authorization"].startswith("bearer-sha256:")
    from dataoorts_magic.offline.protocol import fingerprint

    assert upstream.requests[-1]["headers"]["authorization"] == fingerprint(ACCOUNT_KEY)
    ada = gateway.ledger.student("ada")
    expected = (usage["prompt_tokens"] * 70 + usage["completion_tokens"] * 80) / 1e9
    assert abs(usd(ada.spent) - expected) < 1e-12 and ada.reserved == 0 and ada.requests == 1
    assert float(response.headers["X-Dataoorts-Budget-Remaining"]) == round(0.50 - expected, 6)
    (row,) = gateway.ledger.recent_requests()
    assert (row.student, row.status, row.prompt, row.answer) == ("ada", 200, None, None)  # no --log-prompts
    # where the time went, for benchmarks/gateway.py: its own, its queue's, the provider's (W3C Server-Timing)
    names = [part.split(";")[0] for part in response.headers["Server-Timing"].split(", ")]
    assert names == ["gateway", "queue", "upstream"]


def test_a_stream_is_passed_through_event_by_event_and_charged_from_its_last_event(gateway):
    token = gateway.student("ada")
    with post(gateway, token, body(stream=True), stream=True) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert events[-1] == b"data: [DONE]"
    usage = json.loads(events[-2][5:])["usage"]
    spent = gateway.ledger.student("ada").spent
    assert spent == usage["prompt_tokens"] * 70 + usage["completion_tokens"] * 80


def test_refusals_come_in_the_contracts_order_each_naming_the_fix(gateway, upstream):
    assert error_of(post(gateway, None)) == (401, 10000, "Unknown gateway token: ask your teacher for yours")
    assert error_of(post(gateway, "dmg-made-up"))[:2] == (401, 10000)
    token = gateway.student("bo", budget=0.50, rate=2)
    gateway.ledger.set_state(paused="1", pause_message="Exam until 11:00")
    gateway.server.gateway.forget_state()
    assert error_of(post(gateway, token)) == (403, 9403, "Exam until 11:00 (ask your teacher)")
    gateway.ledger.set_state(paused="0")
    gateway.server.gateway.forget_state()
    assert post(gateway, token).status_code == 200
    assert post(gateway, token).status_code == 200
    refused = post(gateway, token)
    status, code, message = error_of(refused)
    assert (status, code) == (429, 9429) and "limit of 2 requests a minute" in message
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert upstream.count == 2  # nothing refused was forwarded


def test_the_budget_is_refused_with_3036_before_anything_is_sent(gateway, upstream):
    token = gateway.student("cy", budget=0.0001)  # 100,000 nano-USD: a few short answers
    answered = 0
    while post(gateway, token, body(max_tokens=200)).status_code == 200:
        answered += 1
    sent = upstream.count
    status, code, message = error_of(post(gateway, token, body(max_tokens=200)))
    assert (status, code) == (429, 3036) and message.startswith("budget used up: $0.0000")
    assert " of $0.0001, and this request could cost $0.0000" in message
    assert message.endswith(" (ask for fewer tokens with -n); ask your teacher")
    assert upstream.count == sent and answered >= 1
    cy = gateway.ledger.student("cy")
    assert cy.spent <= cy.budget and cy.reserved == 0


def test_a_whole_budget_refusal_reads_as_the_contract_says(gateway):
    token = gateway.student("di", budget=0.50)
    gateway.ledger.engine.dispose()
    from sqlalchemy import update

    from dataoorts_magic.gateway.ledger_schema import students

    with gateway.ledger.engine.begin() as db:
        db.execute(update(students).where(students.c.name == "di").values(spent=students.c.budget))
    assert error_of(post(gateway, token)) == (429, 3036, "budget used up: $0.50 of $0.50; ask your teacher")


def test_a_body_over_one_megabyte_is_refused_413_without_being_kept(gateway, upstream):
    token = gateway.student("ed")
    huge = body("x" * (1024 * 1024 + 10))
    assert error_of(post(gateway, token, huge))[:2] == (413, 3006)
    chunks = (b"y" * 65536 for _ in range(20))  # chunked: no Content-Length to check first
    response = requests.post(gateway.url, data=chunks, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert error_of(response)[:2] == (413, 3006)
    assert upstream.count == 0


def test_bad_bodies_and_unknown_models_fail_in_the_envelope_with_nothing_forwarded(gateway, upstream):
    token = gateway.student("fay")
    response = requests.post(gateway.url, data=b"{nope", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert error_of(response)[:2] == (400, 5006)
    assert error_of(post(gateway, token, {**body(), "model": "no/such"}))[:2] == (400, 5007)
    assert "out of range" in error_of(post(gateway, token, body(max_tokens=0)))[2]
    assert upstream.count == 0


def test_max_tokens_is_capped_by_the_gateway(start_gateway, upstream):
    capped = start_gateway(max_tokens=100)
    token = capped.student("gus")
    assert post(capped, token, body(max_tokens=5000)).status_code == 200
    assert upstream.requests[-1]["body"]["data"]["max_tokens"] == 100


def test_the_account_key_reaches_no_student_log_or_ledger(gateway, upstream):
    token = gateway.student("hal", budget=0.00002)
    upstream.enqueue({"body": f"echo {ACCOUNT_KEY}", "status": 500})  # a provider that echoes the key
    seen = [post(gateway, token).text]
    seen += [post(gateway, token, body(stream=True)).text for _ in range(3)]
    seen.append(post(gateway, "wrong").text)
    seen.append(requests.get(gateway.base + "usage.json", headers={"Authorization": f"Bearer {token}"}).text)
    admin = gateway.admin()
    seen.append(requests.get(gateway.base + "dashboard", headers={"Authorization": f"Bearer {admin}"}).text)
    seen += gateway.lines
    with gateway.ledger.engine.connect() as db:
        from sqlalchemy import text

        for table in ("students", "requests", "state", "upstream_limits"):
            seen.append(repr(db.execute(text(f"SELECT * FROM {table}")).all()))
    everything = "\n".join(seen)
    assert "[redacted]" in everything  # the echo was scrubbed
    assert ACCOUNT_KEY not in everything and token not in everything and admin not in everything


def test_students_see_only_their_own_usage(gateway):
    ivy, jo = gateway.student("ivy"), gateway.student("jo")
    post(gateway, ivy)
    mine = requests.get(gateway.base + "usage.json", headers={"Authorization": f"Bearer {jo}"}).json()
    assert [s["name"] for s in mine["students"]] == ["jo"] and "total" not in mine
    assert requests.get(gateway.base + "usage.json").status_code == 401


def test_it_listens_on_loopback_only_by_default(gateway):
    assert gateway.server.host == "127.0.0.1"
    port = gateway.server.port
    outside = [a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    for address in {a for a in outside if not a.startswith("127.")}:
        with socket.socket() as sock:
            sock.settimeout(1)
            assert sock.connect_ex((address, port)) != 0


def test_an_unreachable_provider_is_one_502_naming_the_teacher_and_costs_nothing(db_url):
    from dataoorts_magic.gateway.app import GatewayServer

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/api/v1"  # bound, never listening
        with GatewayServer(db_url, nowhere, ACCOUNT_KEY, log=lambda line: None) as server:
            from support.gateway_kit import Running

            gateway = Running(server, [])
            response = post(gateway, gateway.student("vic"))
    status, code, message = error_of(response)
    assert (status, code) == (502, 3043) and message.endswith("tell your teacher")
    vic = gateway.ledger.student("vic")
    assert vic.spent == 0 and vic.reserved == 0
