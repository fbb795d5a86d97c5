"""What the gateway's tests share: the account key, a request body, and a running gateway with the teacher's helpers."""

from __future__ import annotations

import secrets

ACCOUNT_KEY = "acct-" + secrets.token_hex(16)  # the teacher's key: must never reach a student
MODEL = "meta/llama-3.1-8b-instruct"


def body(prompt: str = "What is a p-value?", max_tokens: int = 64, **data) -> dict:
    return {
        "model": MODEL,
        "data": {"messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens, **data},
    }


class Running:
    """A gateway in a thread, what it logged, and helpers that act as the teacher would."""

    def __init__(self, server, lines):
        self.server, self.lines = server, lines

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def base(self) -> str:
        return self.server.base

    @property
    def ledger(self):
        return self.server.gateway.ledger

    def student(self, name: str, budget: float = 0.50, rate: int | None = None) -> str:
        from dataoorts_magic.gateway.ledger import nano
        from dataoorts_magic.gateway.tokens import new_token, token_hash

        token = new_token()
        self.ledger.add_student(name, nano(budget), rate, token_hash(token))
        return token

    def admin(self) -> str:
        from dataoorts_magic.gateway.tokens import new_token, token_hash

        token = new_token()
        self.ledger.add_admin_hash(token_hash(token))
        return token
