"""Resume a batch whose last run did not finish: its logged answers are reused, only the rest is sent.

Why: a kernel that dies at row 6,000 of 10,000, an interrupt, or a few failed rows must not make
the analyst pay for (and wait for) every row again.

*The same batch* is the same requests in the same order: per item the model, the messages (prompt
and system text after ``{item}`` and the columns are filled in) and the parameters, which is to
say the same prompt template, system prompt, model, parameters and items. Its fingerprint
(:func:`batch_key`) is the SHA-256 of the items' cache keys in order; settings that change how a
batch is sent but not what (``-j``, ``rate_limit``, ``budget``, ``format``) are not part of it.

Each run is a row of ``batch_runs`` (status ``running`` until it ends, then ``finished`` when
every item got an answer, else ``incomplete``: interrupted, cancelled, stopped, or some items
failed; a killed kernel leaves it ``running``). Every answer is logged as it arrives, linked to
its run (``exchanges.batch_run``). When the latest run of the same batch is not ``finished``, the
new run copies that run's answers (as cached rows of the new run, cost 0, so a run killed again
still has them all) and sends only the rest. A finished batch is asked again, as any cell is;
``--no-cache`` never reuses (its run is still logged, so it can be resumed in its turn). With the
log off nothing is registered and nothing resumes. Failures of the log are not raised here: the
batch runs as usual and the session's own log writes warn once.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

from ..display.provenance import canonical_sha256
from ..errors import LogError
from .cache import answer_from_row
from .log import ANSWER_COLUMNS, cache_key
from .migrations import COLUMNS

_ANSWER = ("cache_key", *ANSWER_COLUMNS)  # a logged answer, by the request it answered
# A reused answer's row in the new run: the log's columns (migrations.COLUMNS) copied from the old
# row, except these (a value, or ? for a parameter); the conversation and error stay empty.
_COPY_AS = {
    "time": "?",
    "session": "?",
    "cost": "0.0",
    "elapsed": "0.0",
    "status": "'ok'",
    "cached": "1",
    "batch_run": "?",
}
_COPIED = [c for c in COLUMNS if c not in ("conversation", "error")]


@dataclass
class BatchRun:
    """This run's row id, the batch's fingerprint and the answers reused from the last run (position -> answer)."""

    id: int
    key: str
    resumed: dict = field(default_factory=dict)

    def apply(self, requests: list) -> list:
        """The requests to send: reused answers in place of theirs, the others linked to this run."""
        linked = [r if isinstance(r, BaseException) else r._replace(batch_run=self.id) for r in requests]
        return [self.resumed.get(i, r) for i, r in enumerate(linked)]


def request_key(req) -> str:
    """An item's part of the fingerprint: its cache key, or its error when it could not be built."""
    if isinstance(req, BaseException):
        return f"not built: {req}"
    return cache_key(req.model, req.messages, req.params)


def batch_key(keys: list[str]) -> str:
    """The fingerprint of a batch from its items' :func:`request_key` values, in order."""
    return canonical_sha256(["batch", len(keys), keys])


def begin(session, requests: list, *, reuse: bool = True, keep=None, clock=time.time) -> BatchRun | None:
    """Register this run of ``requests``; with ``reuse``, take the answers of the last run of the
    same batch when it did not finish (only those ``keep(answer, request)`` accepts, when given).
    None when the log is off or cannot be used."""
    built = [r for r in requests if not isinstance(r, BaseException)]
    if not built or not built[0].settings["log"]:
        return None
    keys = [request_key(r) for r in requests]
    key = batch_key(keys)
    try:
        book = session.exchange_log()
        last = book.execute("SELECT id, status FROM batch_runs WHERE batch_key = ? ORDER BY id DESC LIMIT 1", (key,))
        last = last.fetchone()
        rows = {}
        if reuse and last is not None and last[1] != "finished":
            found = book.execute(
                f"SELECT {', '.join(_ANSWER)} FROM exchanges WHERE batch_run = ? AND status = 'ok' ORDER BY id",
                (last[0],),
            )
            rows = {row[0]: dict(zip(_ANSWER, row, strict=True)) for row in found.fetchall()}
        resumed = {
            i: answer_from_row(rows[k], req, 0.0, {"resumed_from": rows[k]["id"]})
            for i, (k, req) in enumerate(zip(keys, requests, strict=True))
            if k in rows
        }
        if keep is not None:
            resumed = {i: answer for i, answer in resumed.items() if keep(answer, requests[i])}
        run = BatchRun(_insert_run(book, key, session.id, len(requests), len(resumed), clock()), key, resumed)
        if resumed:
            _copy_answers(book, last[0], run.id, session.id, clock())
    except LogError:
        return None
    for answer in resumed.values():
        session.spending.settle(0.0, answer.model, cached=True)
    return run


def end(session, run: BatchRun | None, results: list, *, clock=time.time) -> None:
    """Mark the run ``finished`` (every item has an answer) or ``incomplete``."""
    if run is None:
        return
    complete = all(r is not None and not isinstance(r, BaseException) for r in results)
    with contextlib.suppress(LogError):  # else it stays "running": the next run resumes from it, as it should
        session.exchange_log().execute(
            "UPDATE batch_runs SET ended = ?, status = ? WHERE id = ?",
            (clock(), "finished" if complete else "incomplete", run.id),
        )


def _insert_run(book, key: str, session_id: str, items: int, resumed: int, now: float) -> int:
    return book.execute(
        "INSERT INTO batch_runs (batch_key, session, started, items, resumed, status) "
        "VALUES (?, ?, ?, ?, ?, 'running')",
        (key, session_id, now, items, resumed),
    ).lastrowid


def _copy_answers(book, old: int, new: int, session_id: str, now: float) -> None:
    """The last run's answers become cached rows of this run (cost 0), in one statement."""
    values = ", ".join(_COPY_AS.get(c, c) for c in _COPIED)
    book.execute(
        f"INSERT INTO exchanges ({', '.join(_COPIED)}) SELECT {values} FROM exchanges "
        "WHERE batch_run = ? AND status = 'ok'",
        (now, session_id, new, old),
    )
