"""Shared fixtures: a real InteractiveShell with the extension loaded, and a loopback endpoint."""

from __future__ import annotations

import signal
from contextlib import closing
from pathlib import Path

import pytest
from support.shell import KEY

E2E = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(config, items):
    """Everything under tests/e2e is marked ``e2e`` (a browser, a server, a subprocess, a wheel)."""
    for item in items:
        if E2E in Path(item.fspath).parents:
            item.add_marker("e2e")


ENV_VARS = (
    "DATAOORTS_API_KEY",
    "DATAOORTS_API_URL",
    "DATAOORTS_MODEL",
    "DATAOORTS_OFFLINE",
    "DATAOORTS_MAGIC_LOG",
    "DATAOORTS_MAGIC_HOME",
)


@pytest.fixture(scope="session")
def ip():
    """The singleton shell (so capture_output sees displays), with the extension loaded once."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "dataoorts_magic")
    return shell


@pytest.fixture
def magics(ip):
    return ip.magics_manager.registry["LlamaMagics"]


@pytest.fixture
def explain_magics(ip):
    """The magics of ``%llama_explain`` (they keep the session's last error)."""
    return ip.magics_manager.registry["LlamaExplainMagics"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """Each test starts with no Dataoorts variables set, its own data folder, default settings and
    nothing spent, whichever tests ran before it (in this process: pytest-xdist splits the suite)."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATAOORTS_MAGIC_HOME", str(tmp_path))
    yield
    from IPython.core.interactiveshell import InteractiveShell

    if InteractiveShell.initialized():
        registry = InteractiveShell.instance().magics_manager.registry
        if "LlamaMagics" in registry:
            session = registry["LlamaMagics"].llama_session
            session.reset()
            session.set_key(None)
            session.spending = type(session.spending)()  # a budget test must not see what earlier tests spent


@pytest.fixture(autouse=True)
def unpaced(request):
    """Tests run with no client-side pacing (``rate_limit=0``), unless marked ``paced``.

    Pacing spreads request starts over the minute; a test that sends a dozen requests to a loopback
    server would wait for it and test nothing more. The trait is set as ``%config`` would set it, so
    a test that sets ``rate_limit`` itself gets what it set, and ``--reset`` brings back 300. The
    rate-limit tests are marked ``paced`` and see the real default.
    """
    from IPython.core.interactiveshell import InteractiveShell

    if request.node.get_closest_marker("paced") is None and InteractiveShell.initialized():
        magics = InteractiveShell.instance().magics_manager.registry.get("LlamaMagics")
        if magics is not None:
            magics.rate_limit = 0


@pytest.fixture
def default_sigint():
    """Python's own SIGINT handler, for a test that interrupts itself (as Kernel > Interrupt does).

    A shell starts a background job (``bash scripts/test &``) with SIGINT ignored, and Python
    leaves an ignored SIGINT ignored: the signal would never become a ``KeyboardInterrupt``, in this
    process or in a Python process it starts (an ignored signal stays ignored across exec).
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def server():
    """The bundled endpoint on a free loopback port, expecting KEY."""
    from dataoorts_magic.offline.server import OfflineServer

    with OfflineServer(api_key=KEY).start() as srv:
        yield srv


@pytest.fixture
def scripted(monkeypatch):
    """A scripted loopback server (tests/support/scripted_server.py) that the client is pointed at, with KEY."""
    from support.scripted_server import ScriptedServer

    with ScriptedServer() as srv:
        monkeypatch.setenv("DATAOORTS_API_URL", srv.url)
        monkeypatch.setenv("DATAOORTS_API_KEY", KEY)
        yield srv


@pytest.fixture
def online(server, monkeypatch):
    """Point the client at the loopback endpoint with a key, as a user with a real key would."""
    monkeypatch.setenv("DATAOORTS_API_URL", server.url)
    monkeypatch.setenv("DATAOORTS_API_KEY", KEY)
    return server


@pytest.fixture
def endpoint_held(monkeypatch):
    """A WindowServer with no rate window (support/window_server.py) that the client is pointed at, with KEY."""
    from support.window_server import WindowServer

    with closing(WindowServer(per_second=None)) as srv:
        monkeypatch.setenv("DATAOORTS_API_URL", srv.url)
        monkeypatch.setenv("DATAOORTS_API_KEY", KEY)
        yield srv
