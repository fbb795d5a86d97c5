"""The teacher's commands act on a running gateway's ledger, with no restart."""

from __future__ import annotations

import time

import requests
from support.gateway_kit import body

from dataoorts_magic.cli import main


def command(capsys, *args) -> tuple[int, str, str]:
    status = main(["gateway", *args])
    out, err = capsys.readouterr()
    return status, out, err


def until(condition, seconds: float = 5.0):
    """Poll ``condition`` until it gives something true (the gateway promises a second), else fail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the running gateway did not see the change")


def ask(gateway, token):
    return requests.post(gateway.url, json=body(), headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_student_commands_print_a_token_once_and_store_only_its_hash(gateway, db_url, capsys):
    status, out, _ = command(capsys, "student", "add", "quinn", "--budget", "0.25", "--db", db_url)
    assert status == 0 and out.startswith("Added quinn with a budget of $0.25.")
    token = out.split()[-1]
    assert token.startswith("dmg-") and ask(gateway, token).status_code == 200
    row = gateway.ledger.student("quinn")
    assert token not in repr(row) and len(row.token_hash) == 64
    status, out, _ = command(capsys, "student", "token", "quinn", "--db", db_url)
    new = out.split()[-1]
    assert status == 0 and ask(gateway, token).status_code == 401 and ask(gateway, new).status_code == 200
    assert command(capsys, "student", "budget", "quinn", "0", "--db", db_url)[0] == 0
    assert ask(gateway, new).json()["errors"][0]["code"] == 3036
    assert command(capsys, "student", "remove", "quinn", "--db", db_url)[0] == 0
    assert ask(gateway, new).status_code == 401


def test_pause_and_resume_reach_the_running_gateway_within_a_second(gateway, db_url, capsys):
    token = gateway.student("rae")
    assert command(capsys, "pause", "--message", "Exam: no AI", "--db", db_url)[0] == 0
    (refused,) = until(lambda: [r for r in [ask(gateway, token)] if r.status_code == 403])
    assert refused.json()["errors"][0]["message"] == "Exam: no AI (ask your teacher)"
    assert command(capsys, "resume", "--db", db_url)[0] == 0
    until(lambda: ask(gateway, token).status_code == 200)


def test_usage_as_a_table_and_as_csv(gateway, db_url, capsys):
    ask(gateway, gateway.student("sam"))
    gateway.student("=cmd|x")
    status, out, _ = command(capsys, "usage", "--db", db_url)
    assert status == 0 and out.splitlines()[0].split()[:3] == ["student", "requests", "prompt"]
    assert any(line.startswith("sam ") and " 1 " in line for line in out.splitlines())
    assert out.splitlines()[-1].startswith("(class)")
    status, out, _ = command(capsys, "usage", "--csv", "--db", db_url)
    lines = out.splitlines()
    assert lines[0] == "name,requests,prompt_tokens,completion_tokens,spent,budget,last_request"
    assert lines[1].startswith("'=cmd|x,0,") and lines[2].startswith("sam,1,")  # no formula runs in a spreadsheet
    spent = lines[2].split(",")[4]
    assert spent.startswith("0.00000") and "e" not in spent and lines[2].split(",")[5] == "0.5"


def test_admin_token_opens_the_dashboard(gateway, db_url, capsys):
    status, out, _ = command(capsys, "admin-token", "--db", db_url)
    token = out.split()[-1]
    page = requests.get(gateway.base + "dashboard", headers={"Authorization": f"Bearer {token}"})
    assert status == 0 and page.status_code == 200 and "Class gateway" in page.text


def test_bad_input_is_one_line_naming_the_fix(db_url, capsys):
    status, _, err = command(capsys, "student", "budget", "nobody", "1", "--db", db_url)
    assert status == 2 and err == "error: No student named 'nobody': `dataoorts-magic gateway usage` lists them.\n"
    command(capsys, "student", "add", "tia", "--db", db_url)
    status, _, err = command(capsys, "student", "add", "tia", "--db", db_url)
    assert status == 2 and "already exists: pick another name" in err
    status, _, err = command(capsys, "usage", "--db", "mysql://x")
    assert status == 2 and err.count("\n") == 1 and "postgresql://" in err
    status, _, err = command(capsys, "serve", "--db", db_url)
    assert status == 2 and err == "error: No account key: set DATAOORTS_API_KEY, or try the gateway with --offline.\n"
    status, _, err = command(capsys, "serve", "--hub", "--offline", "--db", db_url)
    assert status == 2 and err.startswith("error: --hub needs JUPYTERHUB_API_URL: let JupyterHub start the gateway")
