"""Shared fixtures: a real InteractiveShell with the extension loaded, and a loopback endpoint."""
from __future__ import annotations

import hashlib
import secrets

import pytest

KEY = "sk-test-" + secrets.token_hex(12)
KEY_FINGERPRINT = "bearer-sha256:" + hashlib.sha256(KEY.encode()).hexdigest()[:12]
ENV_VARS = ("DATAOORTS_API_KEY", "DATAOORTS_API_URL", "DATAOORTS_MODEL", "DATAOORTS_OFFLINE",
            "DATAOORTS_MAGIC_LOG", "DATAOORTS_MAGIC_HOME")


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
def tool_magics(ip):
    return ip.magics_manager.registry["LlamaToolMagics"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """Each test starts with no Dataoorts variables set, its own data folder and default settings."""
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


@pytest.fixture
def server():
    """The bundled endpoint on a free loopback port, expecting KEY."""
    from dataoorts_magic.emulator import OfflineServer

    with OfflineServer(api_key=KEY).start() as srv:
        yield srv


@pytest.fixture
def scripted(monkeypatch):
    """A scripted loopback server (tests/scripted_server.py) that the client is pointed at, with KEY."""
    from scripted_server import ScriptedServer

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


def run(ip, source: str):
    """Run a cell as a user would; return (result, captured output)."""
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = ip.run_cell(source)
    return result, captured


def everything_shown(captured) -> str:
    """All text a user could see or save from a captured cell: streams, every mime type, metadata."""
    import json

    parts = [captured.stdout, captured.stderr]
    for out in captured.outputs:
        parts.append(json.dumps(out.data, default=str))
        parts.append(json.dumps(out.metadata, default=str))
    return "\n".join(parts)
