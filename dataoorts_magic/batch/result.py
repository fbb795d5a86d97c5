"""``BatchResult``: the answers of ``--over`` in input order, their totals, frames and display.

``BatchResult.errors`` maps a label to its message, or a position when VAR's labels repeat (a
pandas index with duplicates), so no failure is merged into another; ``failures`` always lists
``(position, label, message)``; ``to_series()`` / ``to_frame()`` keep the index, duplicates too.

The display's metadata records how the answers were made, compactly: what every answer shares
once, the run's totals, and one entry per row shown (the first ``SHOWN_ROWS``, in input order)::

    {"dataoorts_magic": {"batch": {
        "model": ..., "params": ..., "offline": ...,      # as the first answer shown had them
        "totals": {"requests", "failed", "usage", "cost", "elapsed"},  # over every item
        "items": [{"usage", "cost", "elapsed", "prompt_sha256", "cached"},  # an answer
                  {"error": "one-line message"}, ...]}}}  # a failed item

An item repeats ``model``, ``params`` or ``offline`` only where its own differ: an answer's full
provenance (as for a single answer) is the shared fields updated with its entry.

A ``--background`` run binds its ``BatchResult`` before anything is sent and fills it in as answers
arrive (``results[i]`` is None until item i is done): ``done``, ``wait()``, ``cancel()`` and
``error`` follow the run. A resumed run says how many answers came from the log (``resumed``) and
how many requests it sent (``sent``).
"""

from __future__ import annotations

import html
import threading
from collections.abc import Sequence
from dataclasses import asdict

from ..display.plain_text import snippet
from ..display.progress import seconds
from ..display.response import LlamaResponse, Usage
from ..display.styles import error_html, footer_html, text_html
from ..params import format_cost
from . import records as schema_records
from .runner import failed, finished

SHOWN_ROWS = 50  # rows in the display; the result holds them all
SHOWN_CHARS = 160  # characters of an item or an answer in the display
SHARED = ("model", "params", "offline")  # provenance that the display's metadata records once


def _short(value, limit: int = SHOWN_CHARS) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class BatchResult(Sequence):
    """The answers of ``--over``, in input order: ``r[i]`` is a ``LlamaResponse``, or the error of item i.

    ``labels`` are the item positions (or the Series/DataFrame index); ``texts`` the answers
    (None where an item failed); ``errors`` maps a label to its one-line message (a position
    when labels repeat); ``failures`` lists ``(position, label, message)``; ``usage`` and
    ``cost`` add up the answers; ``to_series()`` / ``to_frame()`` need pandas. A ``--schema``
    batch also has ``schema`` and ``records`` (each item's validated dict, None where it failed);
    its ``to_frame()`` has a typed column per field and it displays as a table of the fields.
    """

    def __init__(
        self,
        results,
        labels,
        items,
        *,
        kind="iterable",
        source=None,
        elapsed=0.0,
        interrupted=False,
        stopped_by=None,
        schema=None,
    ):
        self.schema = schema
        self.results = list(results)
        self.labels = list(labels)
        self.items = list(items)
        self.kind, self.source = kind, source
        self.elapsed, self.interrupted, self.stopped_by = elapsed, interrupted, stopped_by
        self.cancelled = False
        self.resumed, self.sent = 0, None  # answers reused from the log; requests sent (when resumed)
        self.refusals = 0  # answers refused for the rate limit (each request was sent again)
        self._error = None  # a background run's own failure
        self._running = False  # a background run sets it until its outcomes are final
        self._done, self._cancel = threading.Event(), threading.Event()
        self._done.set()  # and clears this until its display shows them too

    # --- a background run ------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """Whether the run has ended (always True unless it runs in the background)."""
        return not self._running

    @property
    def error(self) -> BaseException | None:
        """The failure of the whole batch (no key, authentication, quota, ...), or None."""
        return self._error or self.stopped_by

    def wait(self, timeout: float | None = None) -> BatchResult:
        """Wait until the run has ended and return this result (every answer, in input order).

        Raises TimeoutError when ``timeout`` seconds pass first; interrupting the wait leaves the
        run going (``cancel()`` stops it).
        """
        if not self._done.wait(timeout):
            raise TimeoutError(
                f"The batch is still running ({self.finished} of {len(self)} done) after {timeout:g} s: "
                "wait again, or cancel() it."
            )
        return self

    def cancel(self) -> None:
        """Stop sending; the requests in flight finish and every answer that arrived is kept."""
        self._cancel.set()

    def record_run(self, outcome, resumed: int = 0) -> BatchResult:
        """Take how the run went from its ``runner.Outcome`` (the results are already in place)."""
        self.elapsed, self.interrupted, self.stopped_by = outcome.elapsed, outcome.interrupted, outcome.stopped_by
        self.cancelled, self.refusals, self.resumed, self.sent = (
            outcome.cancelled,
            outcome.refusals,
            resumed,
            outcome.sent,
        )
        return self

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index):
        return self.results[index]

    @property
    def responses(self) -> list[LlamaResponse]:
        return [r for r in self.results if isinstance(r, LlamaResponse)]

    @property
    def records(self) -> list:
        """Each item's validated dict (``--schema``), None where it failed or there is no schema."""
        return [r.data if isinstance(r, LlamaResponse) else None for r in self.results]

    @property
    def texts(self) -> list:
        return [r.text if isinstance(r, LlamaResponse) else None for r in self.results]

    @property
    def failures(self) -> list[tuple]:
        """``(position, label, message)`` of every failed item, in input order."""
        pairs = enumerate(zip(self.labels, self.results, strict=True))
        return [(i, label, str(r)) for i, (label, r) in pairs if failed(r)]

    @property
    def errors(self) -> dict:
        """label -> message of each failed item; position -> message when VAR's labels repeat
        (``labels[position]`` gives the label), so that no failure is merged into another."""
        keyed = self._unique_labels()
        return {label if keyed else i: message for i, label, message in self.failures}

    def _unique_labels(self) -> bool:
        index = self._index()
        try:
            return index.is_unique if index is not None else len(set(self.labels)) == len(self.labels)
        except TypeError:  # an unhashable label: positions are the only safe keys
            return False

    @property
    def finished(self) -> int:
        return finished(self.results)

    @property
    def usage(self) -> Usage | None:
        """Tokens of every answer that reported usage (None if none did), re-asked ones that still failed too."""
        counted = [r.usage for r in schema_records.paid(self) if r is not None and r.usage is not None]
        if not counted:
            return None
        return Usage(
            *(sum(getattr(u, k) for u in counted) for k in ("prompt_tokens", "completion_tokens", "total_tokens"))
        )

    @property
    def cost(self) -> float | None:
        """USD of all answers (re-asked ones that still failed too); None when any answer's cost is unknown."""
        costs = [r.cost for r in schema_records.paid(self) if r is not None]
        return None if any(c is None for c in costs) else sum(costs)

    def _index(self):
        return self.source.index if self.kind in ("Series", "DataFrame") else None

    def to_series(self, name: str = "answer"):
        """The answers as a pandas Series (None where an item failed), with VAR's index."""
        import pandas as pd

        return pd.Series(self.texts, index=self._index(), name=name, dtype=object)

    def input_frame(self):
        """VAR as a DataFrame: a copy of VAR's own, or its items as a column ``item`` (with VAR's index)."""
        import pandas as pd

        if self.kind == "DataFrame":
            return self.source.copy()
        return pd.DataFrame({"item": self.items}, index=self._index())

    def to_frame(self):
        """A DataFrame: VAR's columns (or ``item``), then answer, error, tokens, cost and seconds.

        A ``--schema`` batch has one typed column per field instead of ``answer`` (``records``).
        """
        import pandas as pd

        if self.schema is not None:
            return schema_records.typed_frame(self)

        def col(attr):
            return [getattr(r, attr) if isinstance(r, LlamaResponse) else None for r in self.results]

        extra = {
            "answer": self.texts,
            "error": [str(r) if failed(r) else None for r in self.results],
            "prompt_tokens": [r.usage.prompt_tokens if getattr(r, "usage", None) else None for r in self.results],
            "completion_tokens": [
                r.usage.completion_tokens if getattr(r, "usage", None) else None for r in self.results
            ],
            "cost": col("cost"),
            "elapsed": col("elapsed"),
        }
        frame = self.input_frame()
        for key, values in extra.items():
            frame[key if key not in frame.columns else f"{key}_llama"] = pd.Series(
                values, index=frame.index, dtype=object
            )
        return frame

    # --- display ---------------------------------------------------------------------------
    def totals(self) -> str:
        """One line: requests, failures, tokens, cost, wall time (and how the run ended)."""
        fails = len(self.failures)
        parts = [f"{len(self)} requests"]
        if fails:
            parts.append(f"{fails} failed")
        if self.resumed:
            parts.append(f"resumed {self.resumed} answers from the log, sent {self.sent or 0}")
        usage = self.usage
        parts.append(
            "usage not reported" if usage is None else f"{usage.prompt_tokens:,} → {usage.completion_tokens:,} tokens"
        )
        parts.append(format_cost(self.cost))
        parts.append(f"{seconds(self.elapsed)} wall")
        if any(r.offline for r in self.responses):
            parts.append("offline")
        if self.refusals:
            parts.append(f"{self.refusals} refused for the rate limit and sent again")
        if not self.done:
            parts.append(f"running: {self.finished} of {len(self)} done")
        elif self.interrupted:
            parts.append(f"interrupted after {self.finished} of {len(self)}")
        elif self.cancelled:
            parts.append(f"cancelled after {self.finished} of {len(self)}")
        elif self.error is not None:
            parts.append(f"stopped after {self.finished} of {len(self)}")
        return " · ".join(parts)

    def _rows(self):
        for label, item, result in list(zip(self.labels, self.items, self.results, strict=True))[:SHOWN_ROWS]:
            shown = item if self.kind != "DataFrame" else ", ".join(f"{k}={v}" for k, v in item.items())
            answer = snippet(result.text) if isinstance(result, LlamaResponse) else f"⚠ {_short(result)}"
            yield _short(label, 30), _short(shown), answer, failed(result)

    def metadata(self) -> dict:
        """The display's provenance (module docstring): shared fields once, totals, one entry per row shown."""
        shown = [
            r.metadata()["dataoorts_magic"] if isinstance(r, LlamaResponse) else {"error": str(r)}
            for r in self.results[:SHOWN_ROWS]
        ]
        first = next((m for m in shown if "error" not in m), {})
        shared = {k: first[k] for k in SHARED if k in first}
        usage = self.usage
        return {
            "dataoorts_magic": {
                "batch": {
                    **shared,
                    "totals": {
                        "requests": len(self),
                        "failed": len(self.failures),
                        "usage": asdict(usage) if usage else None,
                        "cost": self.cost,
                        "elapsed": round(self.elapsed, 4),
                    },
                    "items": [{k: v for k, v in m.items() if k not in shared or v != shared[k]} for m in shown],
                }
            }
        }

    def _more(self) -> str:
        hidden = len(self) - SHOWN_ROWS
        return f"… {hidden} more rows (all {len(self)} are in the result)" if hidden > 0 else ""

    def _running_line(self) -> str:
        return f"BatchResult over {len(self)} items, running in the background\n-- {self.totals()}"

    def __repr__(self) -> str:
        if not self.done:
            return self._running_line()
        if self.schema is not None:
            return schema_records.plain(self, SHOWN_ROWS)
        lines = [f"BatchResult over {len(self)} items"]
        for label, item, answer, _ in self._rows():
            lines.append(f"[{label}] {item}\n    → {answer}")
        if self._more():
            lines.append(self._more())
        lines.append(f"-- {self.totals()}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if self.schema is not None:
            return schema_records.html_table(self, SHOWN_ROWS)
        cell = "<td style='text-align:left;vertical-align:top'>"
        rows = "".join(  # text_html: escaped, and script URLs broken (MathJax typesets this table)
            f"<tr>{cell}{text_html(label)}</td>{cell}{text_html(item)}</td>"
            f"{cell}{error_html(answer, 'span') if bad else text_html(answer)}</td></tr>"
            for label, item, answer, bad in self._rows()
        )
        more = f"<div>{html.escape(self._more())}</div>" if self._more() else ""
        return (
            "<table class='dataoorts-batch'><thead><tr><th style='text-align:left'></th>"
            "<th style='text-align:left'>item</th><th style='text-align:left'>answer</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{more}"
            f"{footer_html(self.totals())}"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        if not self.done:  # the rows fill in; the table and its provenance are shown when it ends
            return {"text/html": footer_html(self._running_line()), "text/plain": self._running_line()}, {}
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}, self.metadata()
