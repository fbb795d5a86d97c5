"""``--hub``: a real JupyterHub runs the gateway as its service; students are known by their hub token.

Each user's ``%%llama`` goes through the gateway on the Hub's own origin and is billed to that
user; another user's token neither sees nor spends their budget; a hub admin sees the dashboard.
"""

from __future__ import annotations

import pytest
import requests
from support.gateway_kit import ACCOUNT_KEY
from support.shell import everything_shown, fails_in_one_line, run

from dataoorts_magic.gateway.ledger import Ledger


@pytest.fixture(scope="module")
def tokens(hub):
    return {user: hub.token_for(user) for user in ("alice", "bob", "teacher")}


@pytest.fixture(scope="module")
def ledger(hub):
    return Ledger(hub.db_url)


def get(hub, path: str, token: str | None):
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.get(hub.gateway + path, headers=headers, timeout=10)


def as_user(monkeypatch, hub, token: str) -> None:
    monkeypatch.setenv("DATAOORTS_API_URL", hub.gateway + "api/v1")
    monkeypatch.setenv("DATAOORTS_API_KEY", token)


def test_each_users_cell_goes_through_the_hub_gateway_and_is_billed_to_them(ip, hub, tokens, ledger, monkeypatch):
    as_user(monkeypatch, hub, tokens["alice"])
    result, captured = run(ip, "%%llama -n 30\nWhat is a z-score?")
    assert result.success, captured.stderr
    assert "meta/llama-3.1-8b-instruct" in everything_shown(captured)
    alice = ledger.student("alice")
    assert alice.hub and alice.requests == 1 and alice.spent > 0
    assert alice.budget == 200_000  # the gateway's --budget 0.0002 for a hub user's first request
    assert ledger.student("bob") is None  # bob has asked nothing yet


def test_another_users_token_neither_sees_nor_spends_their_budget(ip, hub, tokens, ledger, monkeypatch):
    seen = get(hub, "usage.json", tokens["bob"]).json()
    assert seen == {"students": []}  # bob has asked nothing yet: no row, and nothing of alice's
    assert get(hub, "dashboard", tokens["bob"]).status_code == 403
    as_user(monkeypatch, hub, tokens["alice"])
    while ledger.student("alice").spent + 30_000 < ledger.student("alice").budget:
        assert run(ip, "%%llama -n 200\nTell me about variance.")[0].success
    line = fails_in_one_line(ip, "%%llama -n 200\nOne more?")
    assert "budget used up: $0.0" in line and " of $0.0002" in line and "; ask your teacher" in line
    alice_spent = ledger.student("alice").spent
    as_user(monkeypatch, hub, tokens["bob"])
    assert run(ip, "%%llama -n 30\nAnd me?")[0].success  # bob has his own budget
    assert ledger.student("alice").spent == alice_spent and ledger.student("bob").requests == 1
    assert [s["name"] for s in get(hub, "usage.json", tokens["bob"]).json()["students"]] == ["bob"]


def test_a_hub_admin_sees_the_dashboard_and_others_are_refused(hub, tokens):
    page = get(hub, "dashboard", tokens["teacher"])
    assert page.status_code == 200 and "alice" in page.text and "Spend against budget" in page.text
    assert get(hub, "usage.json", tokens["teacher"]).json()["total"]["requests"] >= 1
    assert Ledger(hub.db_url).student("teacher") is None  # looking is not asking: no student row for it
    assert get(hub, "dashboard", tokens["alice"]).status_code == 403
    assert get(hub, "usage.json", "not-a-hub-token").status_code == 401
    assert get(hub, "usage.json", hub.tester_token).status_code == 401  # a service's token is nobody's


def test_with_no_key_a_kernel_on_the_hub_uses_its_hub_token_for_the_gateway(ip, hub, tokens, ledger, monkeypatch):
    # What a single-user server's kernel has: its Hub token and the Hub's URLs, and no DATAOORTS_API_KEY.
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", tokens["bob"])
    monkeypatch.setenv("JUPYTERHUB_API_URL", hub.api)
    monkeypatch.setenv("JUPYTERHUB_PUBLIC_HUB_URL", hub.public + "/hub/")
    monkeypatch.setenv("DATAOORTS_API_URL", hub.gateway + "api/v1")
    before = ledger.student("bob").requests if ledger.student("bob") else 0
    result, captured = run(ip, "%%llama -n 20\nWhat is a quartile?")
    assert result.success, captured.stderr
    assert ledger.student("bob").requests == before + 1


def test_the_account_key_reaches_only_the_provider_not_the_hubs_log_or_a_student(hub, tokens):
    from dataoorts_magic.offline.protocol import fingerprint

    seen = hub.provider.requests
    assert seen and {r["headers"]["authorization"] for r in seen} == {fingerprint(ACCOUNT_KEY)}
    shown = get(hub, "usage.json", tokens["teacher"]).text + get(hub, "dashboard", tokens["teacher"]).text
    assert ACCOUNT_KEY not in shown and ACCOUNT_KEY not in hub.read_log()
    assert "200 alice" in hub.read_log()  # the gateway's own lines are in the Hub's log, without the key


def test_a_hub_admin_opens_the_dashboard_in_a_browser_through_the_hubs_sign_in(hub):
    from support.lab_page import chromium, screenshot

    with chromium() as browser:
        for user in ("teacher", "alice"):
            page = browser.new_context().new_page()
            page.goto(f"{hub.public}/hub/login?next=/services/gateway/dashboard")
            page.fill("#username_input", user)
            page.fill("#password_input", "any")  # DummyAuthenticator: any password
            page.click("#login_submit")
            if user == "teacher":  # the Hub's OAuth brings the admin back to the dashboard, signed in
                page.wait_for_selector("#students")
                assert page.url == hub.gateway + "dashboard" and "Pause the class" in page.inner_text("body")
                screenshot(page, "gateway-dashboard-hub-admin")
            else:  # a student may not use the service's sign-in at all: the Hub itself refuses
                page.wait_for_selector("text=You do not have permission to access JupyterHub service gateway")
                assert "#students" not in page.content() and "Pause the class" not in page.content()
            page.context.close()
