"""On JupyterHub the extension uses ``JUPYTERHUB_API_TOKEN`` as its key, only for an endpoint on the Hub's origin."""

from __future__ import annotations

import pytest
from support.shell import everything_shown, fails_in_one_line, run

from dataoorts_magic.pipeline.hub_key import hub_key
from dataoorts_magic.pipeline.settings import read_key

HUB = {
    "JUPYTERHUB_API_TOKEN": "hub-token-of-ada",
    "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
    "JUPYTERHUB_PUBLIC_HUB_URL": "https://hub.example.edu/hub/",
}


@pytest.mark.parametrize(
    "url, used",
    [
        ("https://hub.example.edu/services/gateway/api/v1", True),
        ("https://HUB.example.edu:443/services/gateway/api/v1", True),  # the same origin, spelled otherwise
        ("http://127.0.0.1:8081/services/gateway/api/v1", True),  # the Hub's API origin
        ("https://cloud.dataoorts.com/api/v1", False),  # the provider: never
        ("http://hub.example.edu/services/gateway/api/v1", False),  # another scheme
        ("https://hub.example.edu:8443/api/v1", False),  # another port
        ("https://hub.example.edu.evil.com/api/v1", False),  # another host
        ("http://127.0.0.1:8082/api/v1", False),
        ("https://hub.example.edu:notaport/api/v1", False),
    ],
)
def test_the_hub_token_goes_only_to_the_hubs_own_origin(url, used):
    key = read_key(None, HUB, url)
    assert (key is not None and key.reveal() == "hub-token-of-ada") is used


def test_an_account_key_or_a_typed_key_comes_first_and_no_hub_means_no_token():
    assert read_key(None, {**HUB, "DATAOORTS_API_KEY": "mine"}, HUB["JUPYTERHUB_API_URL"]).reveal() == "mine"
    assert hub_key("https://hub.example.edu/api/v1", {"JUPYTERHUB_API_TOKEN": "t"}) is None
    assert hub_key(None, HUB) is None


def test_a_cell_on_another_host_never_sends_the_hub_token(ip, upstream, monkeypatch):
    for name, value in HUB.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATAOORTS_API_URL", upstream.url)  # a loopback endpoint that is not the Hub
    line = fails_in_one_line(ip, "%%llama\nHello")
    assert line.startswith("UsageError: No Dataoorts API key is set") and upstream.count == 0


def key_row(ip) -> str:
    """The ``api key`` row of the ``%llama_config`` table, as the cell shows it (runs of spaces as one)."""
    result, captured = run(ip, "%llama_config")
    assert result.success, captured.stderr
    shown = everything_shown(captured)
    assert "hub-token-of-ada" not in shown
    (row,) = [line.strip() for line in shown.splitlines() if line.strip().startswith("api key")]
    return " ".join(row.split())


def test_llama_config_says_the_key_is_the_hub_token_for_the_hubs_gateway(ip, monkeypatch):
    for name, value in HUB.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATAOORTS_API_URL", "https://hub.example.edu/services/gateway/api/v1")
    assert key_row(ip) == "api key set (JupyterHub token, for the hub's gateway) JUPYTERHUB_API_TOKEN"


def test_llama_config_says_the_hub_token_is_not_for_another_endpoint(ip, monkeypatch):
    for name, value in HUB.items():
        monkeypatch.setenv(name, value)  # DATAOORTS_API_URL unset: the Dataoorts endpoint, not the Hub
    assert key_row(ip) == (
        "api key not set (the JupyterHub token goes only to the hub's own address) %llama_key / DATAOORTS_API_KEY"
    )
    monkeypatch.setenv("DATAOORTS_API_KEY", "acct-of-my-own")
    assert key_row(ip) == "api key set DATAOORTS_API_KEY"
