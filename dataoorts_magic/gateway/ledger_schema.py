"""The ledger's tables and how to open the database behind a ``--db`` URL (SQLite or PostgreSQL).

Money is kept in whole nano-dollars (``BigInteger``), so sums are exact on every database and a
budget check never fails by a rounding error: Llama 3.1 8B's prices are 70 and 80 nano-dollars a
token. The tables are created when missing (``metadata.create_all``), which is safe to run from
several gateway processes at once on PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from ..errors import ConfigError

NANO = 1_000_000_000  # nano-dollars in a dollar
DB_NAME = "gateway.sqlite3"
DB_URL_HELP = "give sqlite:///path/gateway.sqlite3 or postgresql://user@host/dbname"

metadata = MetaData()

students = Table(
    "students",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("token_hash", String(64), unique=True, nullable=True),  # hub users have none
    Column("budget", BigInteger, nullable=False),  # nano-USD
    Column("rate", Integer, nullable=True),  # requests per minute; None = only the class's rate
    Column("spent", BigInteger, nullable=False, default=0),
    Column("reserved", BigInteger, nullable=False, default=0),  # worst cases of requests in flight
    Column("requests", Integer, nullable=False, default=0),
    Column("prompt_tokens", BigInteger, nullable=False, default=0),
    Column("completion_tokens", BigInteger, nullable=False, default=0),
    Column("last_request", Float, nullable=True),
    Column("hub", Boolean, nullable=False, default=False),
    Column("created", Float, nullable=False),
)

requests = Table(
    "requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("student", String(64), nullable=False, index=True),
    Column("time", Float, nullable=False),
    Column("model", String(200), nullable=False),
    Column("prompt_tokens", Integer, nullable=True),
    Column("completion_tokens", Integer, nullable=True),
    Column("cost", BigInteger, nullable=False),  # nano-USD charged
    Column("status", Integer, nullable=False),  # the HTTP status the student got
    Column("elapsed", Float, nullable=False),
    Column("prompt", Text, nullable=True),  # only with --log-prompts
    Column("answer", Text, nullable=True),
)

state = Table(
    "state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

upstream_limits = Table(
    "upstream_limits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False),
    Column("status", Integer, nullable=False),
    Column("retry_after", Float, nullable=True),
)


def default_db_url(environ=os.environ) -> str:
    """``sqlite:///<data dir>/gateway.sqlite3``: beside the extension's own log."""
    from ..store.log import log_path

    return f"sqlite:///{Path(log_path(environ)).parent / DB_NAME}"


def normalize_url(url: str) -> str:
    """``url`` with PostgreSQL mapped to psycopg 3 (``postgresql://`` -> ``postgresql+psycopg://``)."""
    text = url.strip()
    for plain in ("postgresql://", "postgres://"):
        if text.startswith(plain):
            return "postgresql+psycopg://" + text[len(plain) :]
    try:
        backend = make_url(text).get_backend_name()
    except ArgumentError:
        raise ConfigError(f"--db {url!r} is not a database URL: {DB_URL_HELP}.") from None
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"--db {url!r}: the gateway keeps its ledger in SQLite or PostgreSQL; {DB_URL_HELP}.")
    return text


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (usage, the dashboard) never block a request
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_engine(url: str) -> Engine:
    """An engine on ``url`` with the ledger's tables in place."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    try:
        metadata.create_all(engine)
    except DBAPIError:  # another gateway process created them at the same moment
        metadata.create_all(engine)
    return engine
