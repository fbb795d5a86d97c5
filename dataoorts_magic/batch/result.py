"""``BatchResult``: the answers of ``--over`` in input order, their totals and frames (the display: ``result_display``).

``BatchResult.errors`` maps a label to its message, or a position when VAR's labels repeat (a
pandas index with duplicates), so no failure is merged into another; ``failures`` always lists
``(position, label, message)``; ``to_series()`` / ``to_frame()`` keep the index, duplicates too.

A ``--background`` run binds its ``BatchResult`` before anything is sent and fills it in as answers
arrive (``results[i]`` is None until item i is done): ``done``, ``wait()``, ``cancel()`` and
``error`` follow the run. A resumed run says how many answers came from the log (``resumed``) and
how many requests it sent (``sent``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..display.response import LlamaResponse, Usage
from . import typed_records as schema_records
from .result_display import BatchDisplay
from .runner import failed, finished


class BatchResult(BatchDisplay, Sequence):
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
