"""A real JupyterHub for tests: DummyAuthenticator, SimpleLocalProcessSpawner, and the gateway as its service.

The Hub starts the gateway itself, as the README's ``jupyterhub_config.py`` block does (a managed
service running ``dataoorts-magic gateway serve --hub`` with the account key in its environment;
here the "provider" is the tests' offline endpoint), and its proxy routes
``/services/gateway/`` to it, so a kernel reaches the gateway on the Hub's own origin. Users'
API tokens come from the Hub's REST API through a ``tester`` service allowed to make them, as a
single-user server's ``JUPYTERHUB_API_TOKEN`` would be made (spawning servers is slow and not
what is under test). Needs ``jupyterhub`` (pip) and ``configurable-http-proxy`` (npm).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import requests

USERS = ("alice", "bob")
ADMIN = "teacher"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CONFIG = """
import sys
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {proxy_port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.public_url = "http://127.0.0.1:{proxy_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.JupyterHub.db_url = "sqlite:///{folder}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{folder}/cookie_secret"
c.ConfigurableHTTPProxy.pid_file = "{folder}/proxy.pid"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {users!r}
c.Authenticator.admin_users = {{{admin!r}}}
c.JupyterHub.spawner_class = "simple"
c.Spawner.args = ["--allow-root"]
c.JupyterHub.services = [
    {{
        "name": "gateway",
        "url": "http://127.0.0.1:{gateway_port}",
        "command": ["dataoorts-magic", "gateway", "serve", "--hub", "--budget", "0.0002",
                    "--db", "sqlite:///{folder}/gateway.sqlite3"],
        "environment": {{"DATAOORTS_API_KEY": {account_key!r}, "DATAOORTS_API_URL": {upstream_url!r}}},
        "oauth_no_confirm": True,
    }},
    {{"name": "tester", "api_token": {tester_token!r}}},
]
c.JupyterHub.load_roles = [
    {{"name": "tester", "scopes": ["admin:users", "tokens", "list:users"], "services": ["tester"]}},
]
"""


class Hub:
    """``start()`` the Hub (and through it the gateway); ``token_for(user)``; ``stop()``."""

    def __init__(self, upstream_url: str, account_key: str):
        self.upstream_url, self.account_key = upstream_url, account_key
        self.folder = tempfile.mkdtemp(prefix="dataoorts-hub-")
        self.proxy_port, self.hub_port, self.gateway_port = free_port(), free_port(), free_port()
        self.tester_token = secrets.token_hex(24)
        self.process: subprocess.Popen | None = None

    @property
    def public(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.hub_port}/hub/api"

    @property
    def gateway(self) -> str:
        return self.public + "/services/gateway/"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.folder}/gateway.sqlite3"

    def start(self, timeout: float = 60) -> Hub:
        if shutil.which("configurable-http-proxy") is None:
            raise RuntimeError("configurable-http-proxy is missing: npm install -g configurable-http-proxy")
        config = CONFIG.format(
            folder=self.folder,
            proxy_port=self.proxy_port,
            hub_port=self.hub_port,
            proxy_api_port=free_port(),
            gateway_port=self.gateway_port,
            users=set(USERS),
            admin=ADMIN,
            tester_token=self.tester_token,
            account_key=self.account_key,
            upstream_url=self.upstream_url,
        )
        path = os.path.join(self.folder, "jupyterhub_config.py")
        with open(path, "w") as f:
            f.write(config)
        self.log = open(os.path.join(self.folder, "hub.log"), "w")  # noqa: SIM115 - closed in stop()
        bin_dir = os.path.dirname(sys.executable)
        env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", path],
            cwd=self.folder,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("JupyterHub exited:\n" + self.read_log()[-3000:])
            try:
                if requests.get(self.gateway + "usage.json", timeout=2).status_code == 401:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise TimeoutError("JupyterHub and its gateway service did not come up:\n" + self.read_log()[-3000:])

    def read_log(self) -> str:
        with open(os.path.join(self.folder, "hub.log")) as f:
            return f.read()

    def token_for(self, user: str) -> str:
        """A new API token of ``user``, as the Hub gives one to their server."""
        response = requests.post(
            f"{self.api}/users/{user}/tokens",
            json={"note": "kernel"},
            headers={"Authorization": f"token {self.tester_token}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["token"]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # the Hub stops its managed services and its proxy
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)
