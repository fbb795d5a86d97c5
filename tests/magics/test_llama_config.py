"""%llama_config's table: what an unset setting means, and the endpoint requests really go to."""

from __future__ import annotations

import re

from support.shell import run


def table(ip) -> str:
    return repr(ip.run_line_magic("llama_config", ""))


def row(text: str, name: str) -> str:
    found = re.search(rf"^{re.escape(name)}\s+(.*)$", text, re.M)
    assert found, (name, text)
    return found.group(1)


def test_unset_system_and_budget_are_none_and_no_cap_and_parameters_are_the_servers(ip):
    text = table(ip)
    assert row(text, "system").startswith("none ")
    assert row(text, "budget").startswith("no cap ")
    assert row(text, "temperature").startswith("server default (0.6) ")
    for name in ("top_p", "top_k", "seed", "repetition_penalty", "frequency_penalty", "presence_penalty"):
        assert row(text, name).startswith("server default "), name
    ip.run_line_magic("llama_config", 'system="Be brief." budget=0.5')
    text = table(ip)
    assert row(text, "system").startswith("Be brief. ") and row(text, "budget").startswith("0.5 ")


def test_values_are_plain_and_every_parameter_says_its_server_default(ip):
    text = table(ip)
    values = [re.split(r"\s{2,}", line)[1] for line in text.splitlines()[3:-1]]
    assert not [v for v in values if v[:1] in "'\""], values  # no Python quotes on some values only
    assert row(text, "model").startswith("meta/llama-3.1-8b-instruct ")
    assert row(text, "stream").startswith("off ") and row(text, "timeout").startswith("120 ")
    assert row(text, "temperature").startswith("server default (0.6) ")
    for name in ("top_p", "top_k", "seed", "repetition_penalty", "frequency_penalty", "presence_penalty"):
        assert row(text, name).startswith("server default (not documented) "), name


def test_the_echo_says_what_the_table_says(ip):
    result, cap = run(ip, '%llama_config budget=0.5 system="Be brief." stream=on')
    assert cap.stdout.strip() == "Session settings: budget: 0.5 · system: Be brief. · stream: on"
    result, cap = run(ip, "%llama_config budget=none top_k=none")
    assert result.success and cap.stdout.strip() == (
        "Session settings: budget: no cap · top_k: server default (not documented)"
    )
    assert row(table(ip), "budget").startswith("no cap ")


def test_online_the_endpoint_in_use_is_api_url(ip, online):
    assert row(table(ip), "endpoint in use").split()[0] == online.url


def test_offline_names_the_bundled_endpoint_not_the_cloud_url(ip, monkeypatch, request):
    from dataoorts_magic.offline import server as offline

    monkeypatch.setattr(offline, "_offline", None)  # as in a fresh kernel: not started yet
    ip.run_line_magic("llama_config", "--offline")
    before = row(table(ip), "endpoint in use")
    assert before.startswith("bundled offline endpoint (started on first request)")
    assert "api_url is not used" in before and "cloud.dataoorts.com" not in before
    result, cap = run(ip, "%llama -n 5 Hi")
    assert result.success, cap.stderr
    started = offline.offline_server()
    request.addfinalizer(started.stop)  # this test's own; the process-wide one comes back after it
    after = row(table(ip), "endpoint in use")
    url = started.url
    assert url.startswith("http://127.0.0.1:") and after.split()[0] == url
    assert "offline (session); api_url is not used" in after
