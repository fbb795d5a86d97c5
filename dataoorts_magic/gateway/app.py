"""The gateway's server: the tornado application, run in the foreground or in a thread (tests, benchmarks).

``GatewayServer`` builds everything inside its own event loop's thread (tornado's HTTP clients
belong to the loop that made them) and binds 127.0.0.1 unless told otherwise. As a JupyterHub
service the routes sit under ``JUPYTERHUB_SERVICE_PREFIX`` (``/services/<name>/``), since the
Hub's proxy forwards that path unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RedirectHandler

from ..secret import Secret
from .api import HARD_BODY_BYTES, ApiHandler
from .core import Gateway
from .hub import HubUsers
from .ledger import Ledger
from .pages import DashboardHandler, LoginHandler, OAuthCallbackHandler, PauseHandler, UsageJsonHandler
from .upstream import Upstream


def make_app(gateway: Gateway, prefix: str = "/") -> Application:
    pages = {"gateway": gateway, "prefix": prefix}
    return Application(
        [
            (prefix + "api/v1", ApiHandler, {"gateway": gateway}),
            (prefix + "dashboard", DashboardHandler, pages),
            (prefix + "login", LoginHandler, pages),
            (prefix + "oauth_callback", OAuthCallbackHandler, pages),
            (prefix + "pause", PauseHandler, pages),
            (prefix + "usage.json", UsageJsonHandler, pages),
            (prefix + "?", RedirectHandler, {"url": prefix + "dashboard"}),
        ],
        xsrf_cookies=True,
        cookie_secret=gateway.ledger.cookie_secret(),
    )


class GatewayServer:
    """A gateway on ``host:port`` (0: a free port) forwarding to ``upstream_url`` with ``key``.

    ``options`` go to :class:`~dataoorts_magic.gateway.core.Gateway` (``rate``, ``max_tokens``,
    ``log_prompts``, ``default_budget``, ``log``); ``hub=True`` knows students by their JupyterHub
    token (``JUPYTERHUB_API_URL`` from ``environ``).
    """

    def __init__(self, db_url, upstream_url, key, host="127.0.0.1", port=0, prefix="/", hub=False, **options):
        self.db_url, self.upstream_url, self._key = db_url, upstream_url, Secret.of(key)
        self.host, self.port, self.prefix, self.hub, self.options = host, port, prefix, hub, options
        self.gateway: Gateway | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}{self.prefix}"

    @property
    def url(self) -> str:
        return self.base + "api/v1"

    async def open(self) -> HTTPServer:
        """Build the gateway and listen (in the running loop)."""
        hub = HubUsers.from_environment() if self.hub else None
        ledger = Ledger(self.db_url)
        ledger.keep_connection()  # this is the event loop's thread: its requests use one kept connection
        self.gateway = Gateway(ledger, Upstream(self.upstream_url, self._key), hub=hub, **self.options)
        server = HTTPServer(make_app(self.gateway, self.prefix), max_body_size=HARD_BODY_BYTES, xheaders=False)
        sockets = bind_sockets(self.port, self.host or None)
        self.port = sockets[0].getsockname()[1]
        server.add_sockets(sockets)
        return server

    def start(self) -> GatewayServer:
        """Serve from a daemon thread; returns self once it listens (or raises what stopped it)."""

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                server = self._loop.run_until_complete(self.open())
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            self._loop.run_forever()
            server.stop()
            self.gateway.close()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

        self._thread = threading.Thread(target=run, name=f"dataoorts-gateway-{self.port}", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted."""

        async def main():
            await self.open()
            await asyncio.Event().wait()

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())
