"""The response cache: an identical request answered from the exchange log (``cache=on`` / ``replay``).

"Identical" is the log's cache key: model, messages and parameters (``log.cache_key``). With
``cache=replay`` the log is the only source, so a miss, a missing file or an unreadable one is
a clear error naming the file; with ``cache=on`` an unreadable log is noted once and skipped.
"""

from __future__ import annotations

import time

from ..errors import CacheMissError, LogError


def recorded_answer(book, req, note_once):
    """The ``LlamaResponse`` recorded for ``req`` (a ``pipeline.request.Request``) in the log ``book``
    (cost 0, ``cached``), or None.

    ``note_once(topic, line)`` prints a one-time warning (an unreadable log under ``cache=on``).
    """
    from .log import cache_key

    eff = req.settings
    start = time.perf_counter()
    if eff["cache"] == "replay" and not book.path.exists():
        raise CacheMissError(
            f"cache=replay answers only from the log, and there is no log at {book.path}",
            fix="Set DATAOORTS_MAGIC_HOME to the folder that holds the notebook's "
            "log.sqlite3, or set cache=on to call the endpoint.",
        )
    try:
        row = book.lookup(cache_key(req.model, req.messages, req.params))
    except LogError as err:
        if eff["cache"] == "replay":
            raise CacheMissError(
                f"cache=replay answers only from the log, and it could not be read: {err}",
                fix="Check the file, or set cache=on to call the endpoint.",
            ) from None
        note_once(f"log:{book.path}", f"{err}; the cache is skipped.")
        return None
    if row is None:
        if eff["cache"] == "replay":
            raise CacheMissError(
                f"No recorded answer for this request in {book.path} (cache=replay never calls the endpoint)",
                fix="Set cache=on to call it, or use the log file that "
                "recorded this notebook (DATAOORTS_MAGIC_HOME is the folder that holds it).",
            )
        return None
    return answer_from_row(row, req, time.perf_counter() - start, {"cached_from": row["id"]})


def answer_from_row(row: dict, req, elapsed: float, raw: dict):
    """A logged answer (a row with answer, token counts and offline) as the ``LlamaResponse`` to
    ``req``: cost 0 (it was paid for when it was made), ``cached``."""
    from ..display.response import LlamaResponse, Usage

    usage = (
        None
        if row["prompt_tokens"] is None
        else Usage(row["prompt_tokens"], row["completion_tokens"], row["total_tokens"])
    )
    return LlamaResponse(
        text=row["answer"],
        model=req.model,
        params=req.params,
        messages=list(req.messages),
        usage=usage,
        cost=0.0,
        elapsed=elapsed,
        cached=True,
        offline=bool(row["offline"]),
        raw=raw,
        format=req.format,
    )
