"""The log's SQLite schema: its tables, indexes and triggers, and the migrations between versions.

``PRAGMA user_version`` is the schema version of a file; :data:`MIGRATIONS` moves an older
file forward in one transaction (a newer one is refused, naming the fix). Standard library only.
"""

from __future__ import annotations

import sqlite3

from ..errors import LogError

SCHEMA_VERSION = 2

# MIGRATIONS[n] brings a file from version n - 1 to n; a new version appends one entry.
MIGRATIONS = {
    1: (
        """CREATE TABLE IF NOT EXISTS exchanges (
            id INTEGER PRIMARY KEY,
            time REAL NOT NULL,
            session TEXT,
            conversation TEXT,
            model TEXT NOT NULL,
            messages TEXT NOT NULL,
            params TEXT NOT NULL,
            cache_key TEXT NOT NULL,
            answer TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            total_tokens INTEGER,
            cost REAL,
            elapsed REAL,
            status TEXT NOT NULL,
            error TEXT,
            cached INTEGER NOT NULL DEFAULT 0,
            offline INTEGER NOT NULL DEFAULT 0)""",
        "CREATE INDEX IF NOT EXISTS exchanges_cache_key ON exchanges (cache_key, status)",
        "CREATE INDEX IF NOT EXISTS exchanges_time ON exchanges (time)",
        # Running totals kept by triggers in the writer's own transaction, so %llama_usage reads
        # a few rows however long the log grows (UPSERT in a trigger: SQLite >= 3.24).
        """CREATE TABLE IF NOT EXISTS usage_totals (
            model TEXT NOT NULL,
            status TEXT NOT NULL,
            cached INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            cost REAL NOT NULL,
            unknown_cost INTEGER NOT NULL,
            PRIMARY KEY (model, status, cached)) WITHOUT ROWID""",
        """CREATE TRIGGER IF NOT EXISTS exchanges_count AFTER INSERT ON exchanges BEGIN
            INSERT INTO usage_totals VALUES (NEW.model, NEW.status, NEW.cached, 1, IFNULL(NEW.prompt_tokens, 0),
                IFNULL(NEW.completion_tokens, 0), IFNULL(NEW.cost, 0), NEW.cost IS NULL)
            ON CONFLICT (model, status, cached) DO UPDATE SET requests = requests + 1,
                prompt_tokens = prompt_tokens + excluded.prompt_tokens,
                completion_tokens = completion_tokens + excluded.completion_tokens,
                cost = cost + excluded.cost, unknown_cost = unknown_cost + excluded.unknown_cost;
        END""",
        """CREATE TRIGGER IF NOT EXISTS exchanges_uncount AFTER DELETE ON exchanges BEGIN
            UPDATE usage_totals SET requests = requests - 1,
                prompt_tokens = prompt_tokens - IFNULL(OLD.prompt_tokens, 0),
                completion_tokens = completion_tokens - IFNULL(OLD.completion_tokens, 0),
                cost = cost - IFNULL(OLD.cost, 0), unknown_cost = unknown_cost - (OLD.cost IS NULL)
            WHERE model = OLD.model AND status = OLD.status AND cached = OLD.cached;
        END""",
    ),
    # 2: batch runs, so a batch whose last run did not finish resumes from its logged answers
    # (store/resume.py). Rows written before have no run (NULL) and are never resumed from.
    2: (
        "ALTER TABLE exchanges ADD COLUMN batch_run INTEGER",
        "CREATE INDEX IF NOT EXISTS exchanges_batch_run ON exchanges (batch_run) WHERE batch_run IS NOT NULL",
        """CREATE TABLE IF NOT EXISTS batch_runs (
            id INTEGER PRIMARY KEY,
            batch_key TEXT NOT NULL,
            session TEXT,
            started REAL NOT NULL,
            ended REAL,
            items INTEGER NOT NULL,
            resumed INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS batch_runs_key ON batch_runs (batch_key, id)",
    ),
}
COLUMNS = (
    "time",
    "session",
    "conversation",
    "model",
    "messages",
    "params",
    "cache_key",
    "answer",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost",
    "elapsed",
    "status",
    "error",
    "cached",
    "offline",
    "batch_run",
)
INSERT = f"INSERT INTO exchanges ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the file to :data:`SCHEMA_VERSION` in one transaction; returns the version found."""
    conn.execute("BEGIN IMMEDIATE")  # one kernel migrates, the others wait for it (busy timeout)
    try:
        found = conn.execute("PRAGMA user_version").fetchone()[0]
        if found > SCHEMA_VERSION:
            raise LogError(
                f"The log was written by a newer dataoorts-magic (schema {found}, this one reads {SCHEMA_VERSION})",
                fix="Upgrade dataoorts-magic, or set DATAOORTS_MAGIC_HOME to another folder.",
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
        if found < SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found
