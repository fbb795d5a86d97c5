"""Students known by their JupyterHub API token, as a JupyterHub service (``--hub``).

JupyterHub's own ``HubAuth.user_for_token`` asks the Hub ``GET {JUPYTERHUB_API_URL}/user`` with
the token itself as ``Authorization: token <t>``: every token may identify its owner there, and
the model it returns carries ``kind``, ``name`` and ``admin`` (the ``read:users:name`` fields).
We do the same, asynchronously, and keep an answer for a minute (keyed by the token's hash) so a
batch does not ask the Hub once per request. Only users count: a service's token is refused.
"""

from __future__ import annotations

import json
import os
import time

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .tokens import token_hash

CACHE_S = 60.0


class HubUser:
    def __init__(self, name: str, admin: bool):
        self.name, self.admin = name, admin


class HubUsers:
    """Who a JupyterHub token belongs to, through the Hub API at ``api_url``."""

    def __init__(self, api_url: str):
        self.api_url = api_url.rstrip("/")
        self._client = AsyncHTTPClient(force_instance=True, max_clients=32)
        self._cache: dict[str, tuple[float, HubUser]] = {}

    @classmethod
    def from_environment(cls, environ=os.environ) -> HubUsers:
        """The Hub whose API JupyterHub names in ``JUPYTERHUB_API_URL`` (``gateway serve --hub`` checks it is set)."""
        return cls(environ["JUPYTERHUB_API_URL"])

    async def who(self, token: str) -> HubUser | None:
        """The hub user owning ``token``, or None when the Hub does not know it as a user's token."""
        key = token_hash(token)
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        request = HTTPRequest(
            self.api_url + "/user",
            headers={"Authorization": "token " + token},
            connect_timeout=5,
            request_timeout=10,
        )
        try:
            response = await self._client.fetch(request, raise_error=False)
        except Exception:  # noqa: BLE001 - the Hub unreachable: nobody is recognised
            return None
        if response.code != 200:
            return None
        try:
            model = json.loads(response.body)
        except ValueError:
            return None
        if not isinstance(model, dict) or model.get("kind", "user") != "user" or not model.get("name"):
            return None
        user = HubUser(str(model["name"]), model.get("admin") is True)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (time.monotonic() + CACHE_S, user)
        return user

    def close(self) -> None:
        self._client.close()
