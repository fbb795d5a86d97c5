"""A private JupyterLab on loopback for the browser tests, started and stopped like a user's own.

``JupyterLab(root_dir, log_path).start()`` runs ``python -m jupyterlab`` from this venv with a
private HOME, runtime and settings folder (so workspaces, notebook signatures and kernels stay
out of the real home), a random token, no browser, and the news/update checks off (their
pop-up covers the page). It is ready when its ``jpserver-<pid>.json`` runtime file exists and
``/api/status`` answers; ``stop()`` ends the process named in that file (the process we
started may be a different one) and waits for it. ``sessions()`` / ``delete_session()`` talk
to the REST API, because sessions and kernels outlive the browser page.

E2E_NOTES.md (in the shared folder) has what was seen on these machines.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
# The news pop-up and the update check would cover screenshots and reach for the network.
NEWS_OFF = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(condition, timeout: float, what: str, interval: float = 0.1):
    """Call ``condition()`` until it returns something truthy (returned), or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class JupyterLab:
    """One JupyterLab server process; ``url`` and ``token`` once started."""

    def __init__(self, root_dir: Path, private_dir: Path, log_path: Path, env: dict | None = None):
        self.root_dir, self.private_dir, self.log_path = Path(root_dir), Path(private_dir), Path(log_path)
        self.extra_env = dict(env or {})
        self.token = secrets.token_hex(16)
        self.home = self.private_dir / "home"
        self.runtime_dir = self.private_dir / "runtime"
        self.settings_dir = self.private_dir / "lab-settings"
        self.pid: int | None = None
        self.url = ""
        self._proc: subprocess.Popen | None = None
        self._log = None

    def _environment(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATAOORTS_", "JUPYTER", "JPY_"))}
        env.update(
            HOME=str(self.home),
            JUPYTER_RUNTIME_DIR=str(self.runtime_dir),
            JUPYTER_CONFIG_DIR=str(self.home / ".jupyter"),
            IPYTHONDIR=str(self.home / ".ipython"),
            PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self) -> JupyterLab:
        for folder in (self.home, self.runtime_dir, self.settings_dir):
            folder.mkdir(parents=True, exist_ok=True)
        (self.settings_dir / "overrides.json").write_text(json.dumps(NEWS_OFF))
        port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")  # noqa: SIM115 - the server's log, open while it runs
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--allow-root",
                f"--port={port}",
                "--ServerApp.port_retries=0",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.token={self.token}",
                f"--ServerApp.root_dir={self.root_dir}",
                f"--LabApp.app_settings_dir={self.settings_dir}",
            ],
            env=self._environment(),
            cwd=self.root_dir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            info = poll(self._runtime_info, START_TIMEOUT_S, "the jpserver-<pid>.json runtime file")
            self.pid, self.url = info["pid"], info["url"].rstrip("/")
            poll(self._answers, START_TIMEOUT_S, "/api/status to answer")
        except BaseException:
            self.stop()
            raise
        return self

    def _runtime_info(self) -> dict | None:
        if self._proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {self._proc.returncode}; see {self.log_path}")
        for path in self.runtime_dir.glob("jpserver-*.json"):
            try:
                info = json.loads(path.read_text())
            except ValueError:  # being written
                continue
            if info.get("token") == self.token:
                return info
        return None

    def _answers(self) -> bool:
        try:
            return self.api("get", "/api/status").status_code == 200
        except requests.ConnectionError:
            return False

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {self.token}"}
        return requests.request(method, self.url + path, headers=headers, timeout=10, **kwargs)

    def sessions(self) -> list[dict]:
        answer = self.api("get", "/api/sessions")
        answer.raise_for_status()
        return answer.json()

    def delete_session(self, session_id: str) -> None:
        self.api("delete", f"/api/sessions/{session_id}")

    def delete_all_sessions(self) -> None:
        for session in self.sessions():
            self.delete_session(session["id"])

    def page_url(self, notebook: str, workspace: str) -> str:
        """The notebook in its own workspace (``?reset``: nothing from an earlier test is restored)."""
        return f"{self.url}/lab/workspaces/{workspace}/tree/{notebook}?reset&token={self.token}"

    def stop(self) -> None:
        """End the server by the PID its runtime file names, then the process we started; wait for both."""
        pids = [p for p in (self.pid, self._proc.pid if self._proc else None) if p]
        for pid in dict.fromkeys(pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        if self._proc is not None:
            try:
                self._proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=STOP_TIMEOUT_S)
        if self.pid and self.pid != (self._proc.pid if self._proc else None):
            try:
                poll(lambda: not _alive(self.pid), STOP_TIMEOUT_S, f"jupyter server {self.pid} to exit")
            except TimeoutError:
                os.kill(self.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None


@contextlib.contextmanager
def running_lab(root_dir: Path, private_dir: Path, log_path: Path, env: dict | None = None):
    """A started ``JupyterLab`` for a test module; afterwards its sessions deleted and the server stopped."""
    server = JupyterLab(root_dir, private_dir, log_path, env).start()
    try:
        yield server
    finally:
        try:
            server.delete_all_sessions()
        finally:
            server.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
