"""Fixtures of the gateway's tests: the upstream (the offline endpoint with an account key), a ledger,
a running gateway, a throwaway PostgreSQL cluster, and tokens for students and the teacher."""

from __future__ import annotations

import pytest
from support.gateway_kit import ACCOUNT_KEY, Running


@pytest.fixture
def upstream():
    from dataoorts_magic.offline.server import OfflineServer

    with OfflineServer(api_key=ACCOUNT_KEY).start() as server:
        yield server


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'gateway.sqlite3'}"


@pytest.fixture
def start_gateway(db_url, upstream):
    """Start gateways (each on its own port; by default on ``db_url`` and ``upstream``); all stop after."""
    from dataoorts_magic.gateway.app import GatewayServer

    started = []

    def start(db=None, to=None, **options) -> Running:
        lines: list[str] = []
        options.setdefault("log", lines.append)
        server = GatewayServer(db or db_url, (to or upstream).url, ACCOUNT_KEY, **options).start()
        started.append(server)
        return Running(server, lines)

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def gateway(start_gateway):
    return start_gateway()


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL cluster for the session (started in a temp folder, removed at the end)."""
    from support.postgres import Cluster

    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def hub():
    """A real JupyterHub (pip jupyterhub, npm configurable-http-proxy) running the gateway as its service."""
    from support.hub import Hub

    from dataoorts_magic.offline.server import OfflineServer

    with OfflineServer(api_key=ACCOUNT_KEY).start() as provider:
        running = Hub(provider.url, ACCOUNT_KEY).start()
        running.provider = provider
        yield running
        running.stop()
