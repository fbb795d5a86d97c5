"""Students known by their JupyterHub API token, as a JupyterHub service (``--hub``).

JupyterHub's own ``HubAuth.user_for_token`` asks the Hub ``GET {JUPYTERHUB_API_URL}/user`` with
the token itself as ``Authorization: token <t>``: every token may identify its owner there, and
the model it returns carries ``kind``, ``name`` and ``admin`` (the ``read:users:name`` fields).
We do the same, asynchronously, and keep an answer for a minute (keyed by the token's hash) so a
batch does not ask the Hub once per request. Only users count: a service's token is refused.

A browser gets to the dashboard through the Hub's OAuth, as JupyterHub's ``HubOAuth`` does it:
to ``/hub/api/oauth2/authorize`` with the service's client id, back to its callback with a code,
which the service trades for the user's token (``POST {api}/oauth2/token``, the service's own
token as the client secret), then ``/user`` as above.
"""

from __future__ import annotations

import json
import os
import time
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .tokens import token_hash

CACHE_S = 60.0


class HubUser:
    def __init__(self, name: str, admin: bool):
        self.name, self.admin = name, admin


class HubUsers:
    """Who a JupyterHub token belongs to, through the Hub API at ``api_url``."""

    def __init__(self, api_url: str, oauth: dict | None = None):
        self.api_url = api_url.rstrip("/")
        self.oauth = oauth or {}  # client_id, secret (the service's token), callback, authorize
        self._client = AsyncHTTPClient(force_instance=True, max_clients=32)
        self._cache: dict[str, tuple[float, HubUser]] = {}

    @classmethod
    def from_environment(cls, environ=os.environ) -> HubUsers:
        """The Hub JupyterHub names to its services (``gateway serve --hub`` checks JUPYTERHUB_API_URL is set)."""
        oauth = {
            "client_id": environ.get("JUPYTERHUB_CLIENT_ID", ""),
            "secret": environ.get("JUPYTERHUB_API_TOKEN", ""),
            "callback": environ.get("JUPYTERHUB_OAUTH_CALLBACK_URL", ""),
            "authorize": (environ.get("JUPYTERHUB_BASE_URL") or "/").rstrip("/") + "/hub/api/oauth2/authorize",
        }
        return cls(environ["JUPYTERHUB_API_URL"], oauth if all(oauth.values()) else None)

    def login_url(self, state: str) -> str | None:
        """Where a browser signs in with the Hub (OAuth, as JupyterHub's ``HubOAuth``), or None without OAuth."""
        if not self.oauth:
            return None
        query = {
            "client_id": self.oauth["client_id"],
            "redirect_uri": self.oauth["callback"],
            "response_type": "code",
            "state": state,
        }
        return self.oauth["authorize"] + "?" + urlencode(query)

    async def user_for_code(self, code: str) -> HubUser | None:
        """The last step of the Hub's OAuth: the code for a token, the token for its user."""
        form = {
            "client_id": self.oauth["client_id"],
            "client_secret": self.oauth["secret"],
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.oauth["callback"],
        }
        request = HTTPRequest(self.api_url + "/oauth2/token", method="POST", body=urlencode(form), request_timeout=10)
        response = await self._client.fetch(request, raise_error=False)
        try:
            token = json.loads(response.body)["access_token"] if response.code == 200 else None
        except (ValueError, KeyError, TypeError):
            token = None
        return await self.who(token) if isinstance(token, str) and token else None

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
