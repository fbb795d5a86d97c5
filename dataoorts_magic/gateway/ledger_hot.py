"""The ledger's per-request statements on one kept DBAPI connection, for the event loop's thread.

Every request reads its student, reserves and settles: through SQLAlchemy's ``Connection`` each of
those cost more in pool checkout, transaction objects and parameter processing than the statement
itself on SQLite (profiled: about half of the gateway's own work). So the event loop's thread keeps
one connection from the engine's pool and runs the SAME statements, compiled once for the
engine's dialect, with plain ``cursor.execute``: the conditional ``UPDATE`` that makes a
reservation atomic is unchanged, so is every guarantee that rests on it. SQLAlchemy still owns the
schema, the engine, the dialects and the connection's setup (SQLite's pragmas, its timeout).

Only the thread that made a :class:`HotPath` uses it (callers check :meth:`HotPath.mine`); other
threads (tests, tools) go through the engine as before. A connection the database dropped (a
PostgreSQL restart) is thrown away and the statement run once more on a new one, but only when it
failed before its commit: then the database kept nothing of it.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from typing import Any

Money = namedtuple("Money", "budget spent reserved")


class Statement:
    """A statement compiled for ``dialect``: its SQL and how to lay out its parameters."""

    def __init__(self, statement, dialect, keys=None):
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        self.sql = compiled.string
        self.order = tuple(compiled.positiontup or ()) if compiled.positional else None

    def params(self, values: dict):
        return values if self.order is None else tuple(values[k] for k in self.order)


class HotPath:
    """One kept DBAPI connection of ``engine`` for the creating thread (see the module docstring)."""

    def __init__(self, engine, statements: dict):
        self.engine = engine
        self.thread = threading.get_ident()
        self.statements = {name: Statement(s, engine.dialect, keys) for name, (s, keys) in statements.items()}
        self._connection: Any = None  # the pool's proxy of one DBAPI connection

    def mine(self) -> bool:
        return threading.get_ident() == self.thread

    def run(self, steps: list[tuple[str, dict]], write: bool = True) -> list:
        """Run ``steps`` (name, values) in one transaction; the rows of each. Committed when ``write``,
        else rolled back (a read leaves no transaction open)."""
        error = self.engine.dialect.loaded_dbapi.Error
        for attempt in (1, 2):
            connection = self._connection or self.engine.raw_connection()
            self._connection = connection
            try:
                cursor = connection.cursor()
                try:
                    rows = []
                    for name, values in steps:
                        statement = self.statements[name]
                        cursor.execute(statement.sql, statement.params(values))
                        rows.append(cursor.fetchall() if cursor.description else [])
                finally:
                    cursor.close()
            except error as exc:
                if self._gone(exc, connection) and attempt == 1:
                    continue  # dropped before the commit: the database kept nothing, run it again
                self._rollback(connection)
                raise
            except BaseException:
                self._rollback(connection)
                raise
            try:
                if write:
                    connection.commit()
                else:
                    connection.rollback()
            except error as exc:  # whether a commit was kept is unknown: never run again
                if not self._gone(exc, connection):
                    self._rollback(connection)
                raise
            return rows
        raise AssertionError("unreachable")

    def _gone(self, exc: BaseException, connection) -> bool:
        """Whether ``exc`` means the connection is gone (then it is thrown away)."""
        if not self.engine.dialect.is_disconnect(exc, connection.dbapi_connection, None):
            return False
        self._throw_away(connection, exc)
        return True

    def _rollback(self, connection) -> None:
        if self._connection is not connection:
            return
        try:
            connection.rollback()
        except self.engine.dialect.loaded_dbapi.Error as exc:
            self._throw_away(connection, exc)

    def _throw_away(self, connection, exc: BaseException) -> None:
        connection.invalidate(exc)
        self._connection = None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()  # back to the pool
            self._connection = None
