"""The ledger: students, their budgets and spend, one row per request, and the class's switches.

Every gateway process on the same ``--db`` shares it, and the admin commands write to it while
servers run: the servers read it on each request (the switches at most a second old), so nothing
needs a restart.

A budget is kept by reservation. Before forwarding, :meth:`Ledger.reserve` holds the request's
worst case with ONE conditional ``UPDATE ... WHERE spent + reserved + :worst <= budget``: the
database makes it atomic (SQLite's write lock, PostgreSQL's row lock with the condition checked
again after the lock), so no number of requests in flight or gateway processes can together pass
a budget. :meth:`Ledger.settle` then replaces the hold with the charge. We charge the reported
usage but never more than what was reserved: a provider that reports a completion longer than the
``max_tokens`` we sent would otherwise push a student past their budget, and such a report is the
provider's error to explain, not the student's to pay (the row keeps the reported tokens). An
answer without usage is charged its whole reservation; a failed request is charged nothing.
"""

from __future__ import annotations

import contextlib
import time

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import ConfigError
from .ledger_hot import HotPath, Money
from .ledger_schema import NANO, open_engine, requests, state, students, upstream_limits

# The statements of every request, built once: SQLAlchemy then reuses their compiled form, and
# building a statement costs more than running it on SQLite.
_BY_HASH = select(students).where(students.c.token_hash == bindparam("h"))
_BY_NAME = select(students).where(students.c.name == bindparam("n"))
_MONEY = (students.c.budget, students.c.spent, students.c.reserved)
_RESERVE = (
    update(students)
    .where(students.c.name == bindparam("n"))
    .where(students.c.spent + students.c.reserved + bindparam("w") <= students.c.budget)
    .values(reserved=students.c.reserved + bindparam("w"))
    .returning(*_MONEY)
)
_SETTLE = (
    update(students)
    .where(students.c.name == bindparam("n"))
    .values(
        reserved=students.c.reserved - bindparam("w"),
        spent=students.c.spent + bindparam("c"),
        requests=students.c.requests + bindparam("a"),
        prompt_tokens=students.c.prompt_tokens + bindparam("p"),
        completion_tokens=students.c.completion_tokens + bindparam("q"),
        last_request=bindparam("t"),
    )
    .returning(*_MONEY)
)
_ROW = insert(requests)
ROW_DEFAULTS = {"model": "", "prompt_tokens": None, "completion_tokens": None, "elapsed": 0.0, "prompt": None}
ROW_DEFAULTS["answer"] = None
_ROW_KEYS = [*ROW_DEFAULTS, "time", "status", "student", "cost"]
_HOT: dict = {"by_hash": (_BY_HASH, None), "by_name": (_BY_NAME, None), "reserve": (_RESERVE, None)}
_HOT.update(settle=(_SETTLE, None), row=(_ROW, _ROW_KEYS))

STATE_DEFAULTS = {"paused": "0", "pause_message": "", "admin_hashes": "", "cookie_secret": ""}
MAX_ADMIN_TOKENS = 5  # the newest admin tokens that work; older ones stop


def usd(nano: int | None) -> float:
    return (nano or 0) / NANO


def money(value: float) -> str:
    """Dollars as a teacher reads them: $0.50, $0.4821, $0.000024 (to the micro-dollar, no trailing zeros)."""
    whole, _, cents = f"{value:.6f}".rstrip("0").partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def nano(usd_value: float) -> int:
    return round(usd_value * NANO)


class Ledger:
    """The ledger on one database URL (see the module docstring)."""

    def __init__(self, url: str):
        self.engine = open_engine(url)
        self._hot: HotPath | None = None

    def keep_connection(self) -> None:
        """Run the per-request statements on one kept connection from now on, in this thread only
        (the event loop's; see :mod:`.ledger_hot`)."""
        from collections import namedtuple

        self._hot = HotPath(self.engine, _HOT)
        self._student_row = namedtuple("Student", [c.name for c in students.c])  # type: ignore[misc]

    def close(self) -> None:
        if self._hot is not None:
            self._hot.close()

    def _fast(self):
        """The kept connection when this thread may use it, else None (the engine's pool)."""
        hot = self._hot
        return hot if hot is not None and hot.mine() else None

    # -- students -----------------------------------------------------------------------------
    def add_student(self, name: str, budget: int, rate: int | None, token_hash: str | None, hub=False) -> None:
        try:
            with self.engine.begin() as db:
                db.execute(
                    insert(students).values(
                        name=name,
                        token_hash=token_hash,
                        budget=budget,
                        rate=rate,
                        spent=0,
                        reserved=0,
                        requests=0,
                        prompt_tokens=0,
                        completion_tokens=0,
                        hub=hub,
                        created=time.time(),
                    )
                )
        except IntegrityError:
            raise ConfigError(f"A student named {name!r} already exists: pick another name.") from None

    def ensure_hub_student(self, name: str, budget: int) -> None:
        """A ledger row for a JupyterHub user on first use (a race with another process is fine)."""
        if self.student(name) is None:
            with contextlib.suppress(ConfigError):
                self.add_student(name, budget, None, None, hub=True)

    def _change(self, name: str, **values) -> None:
        with self.engine.begin() as db:
            done = db.execute(update(students).where(students.c.name == name).values(**values)).rowcount
        if not done:
            raise ConfigError(f"No student named {name!r}: `dataoorts-magic gateway usage` lists them.")

    def remove_student(self, name: str) -> None:
        with self.engine.begin() as db:
            done = db.execute(delete(students).where(students.c.name == name)).rowcount
        if not done:
            raise ConfigError(f"No student named {name!r}: `dataoorts-magic gateway usage` lists them.")

    def set_budget(self, name: str, budget: int) -> None:
        self._change(name, budget=budget)

    def set_token_hash(self, name: str, token_hash: str) -> None:
        self._change(name, token_hash=token_hash)

    def student(self, name: str):
        if hot := self._fast():
            rows = hot.run([("by_name", {"n": name})], write=False)[0]
            return self._student_row(*rows[0]) if rows else None
        with self.engine.connect() as db:
            return db.execute(_BY_NAME, {"n": name}).first()

    def student_by_hash(self, token_hash: str):
        if hot := self._fast():
            rows = hot.run([("by_hash", {"h": token_hash})], write=False)[0]
            return self._student_row(*rows[0]) if rows else None
        with self.engine.connect() as db:
            return db.execute(_BY_HASH, {"h": token_hash}).first()

    def students(self) -> list:
        with self.engine.connect() as db:
            return list(db.execute(select(students).order_by(students.c.name)))

    # -- money --------------------------------------------------------------------------------
    def reserve(self, name: str, worst: int):
        """Hold ``worst`` nano-USD of ``name``'s budget: (budget, spent, reserved) after, or None when
        it would pass the budget (nothing held)."""
        if hot := self._fast():
            rows = hot.run([("reserve", {"n": name, "w": worst})])[0]
            return Money(*rows[0]) if rows else None
        with self.engine.begin() as db:
            return db.execute(_RESERVE, {"n": name, "w": worst}).first()

    def settle(self, name: str, worst: int, charged: int, row: dict):
        """Replace the hold of ``worst`` by ``charged`` (at most ``worst``) and write the request's row;
        returns (budget, spent, reserved) after."""
        charged = max(0, min(charged, worst))
        values = {
            "n": name,
            "w": worst,
            "c": charged,
            "a": 1 if row.get("status") == 200 else 0,
            "p": row.get("prompt_tokens") or 0,
            "q": row.get("completion_tokens") or 0,
            "t": row["time"],
        }
        request = {**ROW_DEFAULTS, **row, "student": name, "cost": charged}
        if hot := self._fast():
            rows = hot.run([("settle", values), ("row", request)])[0]
            return Money(*rows[0]) if rows else None
        with self.engine.begin() as db:
            money = db.execute(_SETTLE, values).first()
            db.execute(_ROW, request)
        return money

    def record_refusal(self, name: str, row: dict) -> None:
        """A request refused before it was sent (pause, rate, budget): a row, no charge."""
        request = {**ROW_DEFAULTS, **row, "student": name, "cost": 0}
        if hot := self._fast():
            hot.run([("row", request)])
            return
        with self.engine.begin() as db:
            db.execute(_ROW, request)

    # -- the class's switches ---------------------------------------------------------------------
    def state(self) -> dict:
        with self.engine.connect() as db:
            stored = dict(db.execute(select(state.c.key, state.c.value)).all())
        return {**STATE_DEFAULTS, **stored}

    def set_state(self, **values: str) -> None:
        for key, value in values.items():
            change = update(state).where(state.c.key == key).values(value=value)
            with self.engine.begin() as db:
                if db.execute(change).rowcount:
                    continue
            try:
                with self.engine.begin() as db:
                    db.execute(insert(state).values(key=key, value=value))
            except IntegrityError:  # another process wrote it first
                with self.engine.begin() as db:
                    db.execute(change)

    def add_admin_hash(self, token_hash: str) -> None:
        hashes = [h for h in self.state()["admin_hashes"].split(",") if h]
        self.set_state(admin_hashes=",".join([*hashes, token_hash][-MAX_ADMIN_TOKENS:]))

    def cookie_secret(self) -> str:
        """The secret that signs dashboard cookies, shared by every gateway on this ledger."""
        secret = self.state()["cookie_secret"]
        if not secret:
            import secrets

            self.set_state(cookie_secret=secrets.token_hex(32))
            secret = self.state()["cookie_secret"]
        return secret

    # -- what happened --------------------------------------------------------------------------
    def record_upstream_limit(self, status: int, retry_after: float | None) -> None:
        with self.engine.begin() as db:
            db.execute(insert(upstream_limits).values(time=time.time(), status=status, retry_after=retry_after))

    def recent_upstream_limits(self, limit: int = 20) -> list:
        with self.engine.connect() as db:
            query = select(upstream_limits).order_by(upstream_limits.c.id.desc()).limit(limit)
            return list(db.execute(query))

    def recent_requests(self, limit: int = 50, student: str | None = None) -> list:
        query = select(requests).order_by(requests.c.id.desc()).limit(limit)
        if student is not None:
            query = query.where(requests.c.student == student)
        with self.engine.connect() as db:
            return list(db.execute(query))

    def charged_total(self) -> int:
        """Nano-USD charged over every request row (equals the sum of the students' spend)."""
        with self.engine.connect() as db:
            return db.execute(select(func.coalesce(func.sum(requests.c.cost), 0))).scalar_one()
