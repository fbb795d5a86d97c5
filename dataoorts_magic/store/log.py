"""The SQLite log of every exchange (the response cache, ``cache``, reads it).

One row per exchange (``exchanges``): time, session, conversation, model, the request's messages
and params (JSON), the cache key, the answer, usage, cost, elapsed, status (``ok``/``error``)
and error, the ``cached`` and ``offline`` flags, and the batch run it belongs to (``batch_runs``:
see :mod:`.resume`). The file is
``$DATAOORTS_MAGIC_HOME/log.sqlite3`` (default: the user data directory). It is in WAL mode with
a busy timeout, so several kernels can write at once; every thread has its own connection; the
table, its indexes and its migrations are in :mod:`.log_schema`. The API key is never passed
here, and every text is redacted of it anyway before it is written. Failures surface as
:class:`LogError` so the caller can warn once and still show the answer. Standard library only
(plus platformdirs for the default).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..display.provenance import canonical_sha256
from ..errors import LogError, redact
from .migrations import INSERT, migrate

if TYPE_CHECKING:
    from ..secret import Secret

LOG_NAME = "log.sqlite3"
HOME_ENV = "DATAOORTS_MAGIC_HOME"
BUSY_TIMEOUT_S = 10.0


# What a cache lookup reads of an exchange (``cache.answer_from_row`` makes the answer of it).
ANSWER_COLUMNS = (
    "id",
    "model",
    "answer",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost",
    "elapsed",
    "offline",
)


def log_path(environ=os.environ) -> Path:
    """Where the log lives: ``$DATAOORTS_MAGIC_HOME/log.sqlite3``, else the user data directory."""
    home = environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser() / LOG_NAME
    import platformdirs

    return Path(platformdirs.user_data_dir("dataoorts-magic", appauthor=False)) / LOG_NAME


def cache_key(model: str, messages: list, params: dict) -> str:
    """What makes two requests "identical" for the cache: the fingerprint of model, messages and params."""
    return canonical_sha256({"model": model, "messages": messages, "params": params})


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL, waiting out another kernel doing the same.

    Two connections switching a new file at once get "database is locked" straight away:
    SQLite skips its busy timeout there to avoid a deadlock. So try again, briefly, until
    the busy timeout has passed.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01 + 0.04 * random.random())


class ExchangeLog:
    """One log file; a connection per thread, opened on first use."""

    def __init__(self, path):
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._migrated = False

    def __repr__(self):
        return f"<ExchangeLog {self.path}>"

    # --- connections and schema ---------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            try:
                _enable_wal(conn)
                conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across crashes, no fsync per row
                with self._lock:
                    if not self._migrated:
                        migrate(conn)
                        self._migrated = True
            except BaseException:
                conn.close()
                raise
        except (sqlite3.Error, OSError) as exc:
            raise self._error(exc) from None
        self._local.conn = conn
        return conn

    def _error(self, exc: Exception) -> LogError:
        if isinstance(exc, LogError):
            return exc
        return LogError(f"The log {self.path} could not be used ({exc})")

    def _run(self, sql: str, args=()) -> list:
        conn = self._connect()
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            conn.close()

    # --- writing --------------------------------------------------------------------------------
    def record(
        self,
        *,
        model: str,
        messages: list,
        params: dict,
        answer: str | None = None,
        usage=None,
        cost: float | None = None,
        elapsed: float | None = None,
        error: str | None = None,
        cached: bool = False,
        offline: bool = False,
        conversation: str | None = None,
        session: str | None = None,
        secret: Secret | str | None = None,
        when: float | None = None,
        batch_run: int | None = None,
    ) -> int:
        """Append one exchange (an answer, or ``error`` for a failure); returns its row id.

        ``secret`` (the key) is only used to redact every text before it is written.
        """

        def clean(text):
            return redact(text, secret) if secret and text else text

        row = (
            time.time() if when is None else when,
            session,
            clean(conversation),
            model,
            clean(json.dumps(messages, ensure_ascii=False)),
            clean(json.dumps(params, sort_keys=True)),
            cache_key(model, messages, params),
            clean(answer),
            usage.prompt_tokens if usage else None,
            usage.completion_tokens if usage else None,
            usage.total_tokens if usage else None,
            cost,
            elapsed,
            "error" if error else "ok",
            clean(error),
            int(bool(cached)),
            int(bool(offline)),
            batch_run,
        )
        return self.execute(INSERT, row).lastrowid

    def execute(self, sql: str, args=()) -> sqlite3.Cursor:
        """Run one statement on this thread's connection; a failure is a :class:`LogError`."""
        conn = self._connect()
        try:
            return conn.execute(sql, args)
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    # --- reading --------------------------------------------------------------------------------
    def lookup(self, key: str) -> dict | None:
        """The latest successful exchange with this cache key, or None."""
        rows = self._run(
            f"SELECT {', '.join(ANSWER_COLUMNS)} FROM exchanges WHERE cache_key = ? AND status = 'ok' "
            "ORDER BY id DESC LIMIT 1",
            (key,),
        )
        return dict(zip(ANSWER_COLUMNS, rows[0], strict=True)) if rows else None

    def usage(self) -> dict[str, dict]:
        """All-time totals per model: requests, cached, errors, prompt/completion tokens, cost.

        Tokens and cost count answers that were paid for (not cache hits, not failures);
        ``unknown_cost`` counts those answers whose price or usage was unknown.
        """
        from .tally import ModelTally

        out: dict[str, ModelTally] = {}
        for model, status, cached, n, prompt, completion, cost, unknown in self._run(
            "SELECT model, status, cached, requests, prompt_tokens, completion_tokens, cost, unknown_cost "
            "FROM usage_totals WHERE requests > 0"
        ):
            out.setdefault(model, ModelTally()).count(
                n,
                cached=bool(cached),
                error=status != "ok",
                prompt_tokens=prompt,
                completion_tokens=completion,
                cost=cost,
                unknown_cost=unknown,
            )
        return {model: vars(t) for model, t in out.items()}

    def rows(self) -> list[dict]:
        """Every row as a dict of its columns, oldest first (for tests and analysis)."""
        conn = self._connect()
        try:
            cursor = conn.execute("SELECT * FROM exchanges ORDER BY id")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except sqlite3.Error as exc:
            raise self._error(exc) from None
