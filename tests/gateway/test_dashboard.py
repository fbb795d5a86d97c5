"""The teacher's dashboard in Chromium (Playwright): sign in, read the table and the bars, pause and resume.

Screenshots go to ``artifacts/screenshots/gateway-dashboard-*.png``. Names and messages that
look like HTML are shown as text and never run; the pause form refuses a post without its
XSRF token even with the signed-in cookie.
"""

from __future__ import annotations

import requests
from support.gateway_kit import body
from support.lab_page import chromium, screenshot

XSS_NAME = "<img src=x onerror=window.__xss=1>"


def ask(gateway, token):
    return requests.post(gateway.url, json=body(), headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_the_teacher_signs_in_reads_the_class_and_pauses_it(gateway):
    ada, zed = gateway.student("ada", budget=0.50), gateway.student("zed", budget=0.00003)
    gateway.student(XSS_NAME, budget=0.25)
    for _ in range(3):
        ask(gateway, ada)
    while ask(gateway, zed).status_code == 200:
        pass
    gateway.ledger.record_upstream_limit(429, 2.0)
    admin = gateway.admin()
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 760})
        page.goto(gateway.base + "dashboard")
        page.fill("#token", ada)  # a student's token is not enough
        page.click("#login")
        assert "That is not an admin token" in page.inner_text("body")
        screenshot(page, "gateway-dashboard-signin-refused")
        page.fill("#token", admin)
        page.click("#login")
        page.wait_for_selector("#students")
        rows = page.locator("#students tr").all_inner_texts()
        assert len(rows) == 5 and rows[-1].startswith("class")  # header, three students, the class total
        assert any(r.startswith(XSS_NAME) for r in rows)  # shown as text
        assert page.evaluate("window.__xss") is None
        assert page.locator("svg rect").count() == 6  # a budget bar and a spend bar per student
        assert "HTTP 429, Retry-After 2 s" in page.inner_text("#limits")
        screenshot(page, "gateway-dashboard-running")
        forged = page.request.post(gateway.base + "pause", form={"action": "pause"})
        assert forged.status == 403  # the cookie alone does not pass: the form's XSRF token is missing
        page.fill("#message", "Exam <b>now</b>: no AI")
        page.click("#pause")
        page.wait_for_selector(".paused")
        assert "Exam <b>now</b>: no AI" in page.inner_text("#state")
        screenshot(page, "gateway-dashboard-paused")
        refused = ask(gateway, ada)
        assert refused.status_code == 403 and "Exam <b>now</b>: no AI" in refused.json()["errors"][0]["message"]
        page.click("#resume")
        page.wait_for_selector("#pause")
        assert ask(gateway, ada).status_code == 200


def test_a_student_token_gets_403_and_nobody_gets_in_without_a_token(gateway):
    token = gateway.student("ada")
    refused = requests.get(gateway.base + "dashboard", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == 10000
    anonymous = requests.get(gateway.base + "dashboard")
    assert anonymous.status_code == 401 and "Paste the admin token" in anonymous.text and "ada" not in anonymous.text
    assert requests.post(gateway.base + "pause", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_with_log_prompts_the_teacher_reads_prompts_and_answers_escaped(start_gateway):
    gateway = start_gateway(log_prompts=True)
    token, admin = gateway.student("uma"), gateway.admin()
    ask_with = {"Authorization": f"Bearer {token}"}
    requests.post(gateway.url, json=body("<script>alert(1)</script> what is a mean?"), headers=ask_with, timeout=30)
    (row,) = gateway.ledger.recent_requests()
    assert row.prompt == "<script>alert(1)</script> what is a mean?" and "offline endpoint" in row.answer
    page = requests.get(gateway.base + "dashboard", headers={"Authorization": f"Bearer {admin}"}).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; what is a mean?" in page and "<script>" not in page
