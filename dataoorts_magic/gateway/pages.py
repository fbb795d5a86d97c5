"""The teacher's pages: ``/dashboard`` (with its sign-in and pause switch) and ``/usage.json``.

An admin is whoever sends an admin token as ``Authorization: Bearer``, a JupyterHub admin's token
with ``--hub``, or a browser holding the signed cookie set by the sign-in form (HttpOnly,
SameSite=Strict) or, with ``--hub``, by the Hub's OAuth sign-in of a hub admin (SameSite=Lax: it
is set at the end of a redirect from the Hub). Forms posted with that cookie must carry
tornado's XSRF token; a request with an ``Authorization`` header needs none (a browser never adds
that header to a cross-site form). A student's token gets 403 on the dashboard and sees only
their own row in ``/usage.json``.
"""

from __future__ import annotations

import hmac
import json
import secrets

from tornado.web import RequestHandler

from ..offline.protocol import failure
from . import dashboard
from .core import Who
from .report import usage
from .tokens import bearer

COOKIE = "dataoorts_gateway_admin"
STATE_COOKIE = "dataoorts_gateway_oauth_state"
COOKIE_DAYS = 1
MESSAGE_LIMIT = 200
CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"


class PageHandler(RequestHandler):
    def initialize(self, gateway, prefix: str):
        self.gw, self.prefix = gateway, prefix

    def set_default_headers(self):
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")

    def check_xsrf_cookie(self):
        if not self.request.headers.get("Authorization"):
            super().check_xsrf_cookie()

    async def who(self) -> Who | None:
        token = bearer(self.request.headers.get("Authorization"))
        if token:
            return await self.gw.identify(token)
        if self.get_signed_cookie(COOKIE, max_age_days=COOKIE_DAYS) == b"admin":
            return Who(None, True)
        return None

    def send_failure(self, status: int, code: int, message: str):
        reply = failure(status, code, message)
        self.set_status(status)
        self.set_header("Content-Type", reply.content_type)
        self.finish(reply.body)


class DashboardHandler(PageHandler):
    async def get(self):
        who = await self.who()
        if who is not None and not who.admin:
            return self.send_failure(403, 10000, "The dashboard is for the teacher: a student token cannot open it")
        if who is None:
            state = secrets.token_urlsafe(16)
            hub_login = self.gw.hub.login_url(state) if self.gw.hub is not None else None
            if hub_login:  # a browser on JupyterHub signs in with the Hub
                self.set_signed_cookie(STATE_COOKIE, state, expires_days=None, httponly=True, path=self.prefix)
                return self.redirect(hub_login)
            self.set_status(401)
            return self.finish(dashboard.login_page(self.xsrf_form_html(), self.prefix + "login"))
        prompts = self.gw.ledger.recent_requests(30) if self.gw.log_prompts else []
        page = dashboard.page(usage(self.gw.ledger), self.xsrf_form_html(), self.prefix + "pause", prompts)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(page)


class LoginHandler(PageHandler):
    async def post(self):
        token = self.get_body_argument("token", "").strip()
        who = await self.gw.identify(token) if token else None
        if who is None or not who.admin:
            self.set_status(403)
            problem = "That is not an admin token: run `dataoorts-magic gateway admin-token` for a new one."
            return self.finish(dashboard.login_page(self.xsrf_form_html(), self.prefix + "login", problem))
        self.set_signed_cookie(
            COOKIE, "admin", expires_days=COOKIE_DAYS, httponly=True, samesite="Strict", path=self.prefix
        )
        self.redirect(self.prefix + "dashboard")


class OAuthCallbackHandler(PageHandler):
    """The Hub sends a signed-in browser back here with a code: a hub admin gets the dashboard's cookie."""

    async def get(self):
        state = self.get_signed_cookie(STATE_COOKIE, max_age_days=1)
        self.clear_cookie(STATE_COOKIE, path=self.prefix)
        given = self.get_query_argument("state", "")
        if self.gw.hub is None or not state or not hmac.compare_digest(state, given.encode()):
            return self.send_failure(403, 10000, "Sign-in expired or forged: open the dashboard again")
        user = await self.gw.hub.user_for_code(self.get_query_argument("code", ""))
        if user is None or not user.admin:
            return self.send_failure(403, 10000, "The dashboard is for the teacher: a hub admin's account opens it")
        self.set_signed_cookie(
            COOKIE, "admin", expires_days=COOKIE_DAYS, httponly=True, samesite="Lax", path=self.prefix
        )
        self.redirect(self.prefix + "dashboard")


class PauseHandler(PageHandler):
    """``POST /pause`` with ``action=pause`` (and ``message``) or ``action=resume``."""

    async def post(self):
        who = await self.who()
        if who is None or not who.admin:
            return self.send_failure(403, 10000, "Only the teacher can pause the class")
        action = self.get_body_argument("action", "pause")
        if action == "resume":
            self.gw.ledger.set_state(paused="0")
        elif action == "pause":
            message = " ".join(self.get_body_argument("message", "").split())[:MESSAGE_LIMIT]
            self.gw.ledger.set_state(paused="1", pause_message=message)
        else:
            return self.send_failure(400, 5006, "action must be pause or resume")
        self.gw.forget_state()
        if self.request.headers.get("Authorization"):
            self.set_header("Content-Type", "application/json")
            return self.finish(json.dumps({"paused": action == "pause"}))
        self.redirect(self.prefix + "dashboard")


class UsageJsonHandler(PageHandler):
    async def get(self):
        who = await self.who()
        if who is None:
            return self.send_failure(401, 10000, "Send your token as Authorization: Bearer <token>")
        data = usage(self.gw.ledger) if who.admin else usage(self.gw.ledger, only=who.name)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))
