"""Fixtures of the batch tests: a loopback endpoint with no rate window that can hold its answers."""

from __future__ import annotations

from contextlib import closing

import pytest
from support.shell import KEY
from support.window_server import WindowServer


@pytest.fixture
def endpoint_held(monkeypatch):
    """A WindowServer with no window (support/window_server.py) that the client is pointed at, with KEY."""
    with closing(WindowServer(per_second=None)) as srv:
        monkeypatch.setenv("DATAOORTS_API_URL", srv.url)
        monkeypatch.setenv("DATAOORTS_API_KEY", KEY)
        yield srv
