"""The gateway's shared parts in one object: the ledger, the upstream, the class's queue, who is asking.

Handlers get it from the tornado application. The class's switches (pause, its message, the
admin tokens) are read from the ledger at most a second apart, so ``gateway pause`` on the same
``--db`` reaches every running gateway within a second; students are read on every request.
"""

from __future__ import annotations

import time

from .hub import HubUsers
from .ledger import Ledger
from .pacing import ClassQueue, StudentWindow
from .tokens import same_hash, token_hash
from .upstream import Upstream

STATE_TTL_S = 1.0


class Who:
    """The holder of a bearer token: a student (``name``, with their ledger ``row``), an admin, or both."""

    def __init__(self, name: str | None, admin: bool, row=None, hub: bool = False):
        self.name, self.admin, self.row, self.hub = name, admin, row, hub


class Gateway:
    """Everything one gateway process serves with (see the module docstring)."""

    def __init__(
        self,
        ledger: Ledger,
        upstream: Upstream,
        *,
        rate: float = 300,
        max_tokens: int | None = None,
        log_prompts: bool = False,
        hub: HubUsers | None = None,
        default_budget: int = 0,
        log=print,
    ):
        self.ledger, self.upstream, self.hub = ledger, upstream, hub
        self.queue = ClassQueue(rate)
        self.window = StudentWindow()
        self.max_tokens, self.log_prompts, self.default_budget = max_tokens, log_prompts, default_budget
        self.log = log
        self._state: dict = {}
        self._state_time = -STATE_TTL_S

    def state(self) -> dict:
        """The class's switches, at most STATE_TTL_S old."""
        now = time.monotonic()
        if now - self._state_time >= STATE_TTL_S:
            self._state, self._state_time = self.ledger.state(), now
        return self._state

    def forget_state(self) -> None:
        """Read the switches again on next use (this process just changed them)."""
        self._state_time = -STATE_TTL_S

    def is_admin_token(self, token: str) -> bool:
        hashes = [h for h in self.state()["admin_hashes"].split(",") if h]
        return any([same_hash(token, h) for h in hashes])  # a list: every hash compared, always

    async def identify(self, token: str | None) -> Who | None:
        """Who holds ``token``: a gateway student, the admin, or (with ``--hub``) a hub user; None if nobody."""
        if not token:
            return None
        row = self.ledger.student_by_hash(token_hash(token))
        if row is not None and same_hash(token, row.token_hash):
            return Who(row.name, False, row)
        if self.is_admin_token(token):
            return Who(None, True)
        if self.hub is not None:
            user = await self.hub.who(token)
            if user is not None:  # a ledger row comes with the first request (api), not with a look
                return Who(user.name, user.admin, self.ledger.student(user.name), hub=True)
        return None

    def close(self) -> None:
        self.upstream.close()
        self.ledger.close()
        if self.hub is not None:
            self.hub.close()
