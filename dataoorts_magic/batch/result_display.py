"""How a ``BatchResult`` shows itself: a table of items and answer snippets, the totals line, provenance.

The display's metadata records how the answers were made, compactly: what every answer shares
once, the run's totals, and one entry per row shown (the first ``SHOWN_ROWS``, in input order)::

    {"dataoorts_magic": {"batch": {
        "model": ..., "params": ..., "offline": ...,      # as the first answer shown had them
        "totals": {"requests", "failed", "usage", "cost", "elapsed"},  # over every item
        "items": [{"usage", "cost", "elapsed", "prompt_sha256", "cached"},  # an answer
                  {"error": "one-line message"}, ...]}}}  # a failed item

An item repeats ``model``, ``params`` or ``offline`` only where its own differ: an answer's full
provenance (as for a single answer) is the shared fields updated with its entry. A ``--schema``
batch shows a table of its fields instead (``records``). Every cell is escaped and its script
URLs broken (``styles.text_html``).
"""

from __future__ import annotations

import html
from dataclasses import asdict

from ..display.plain_text import snippet
from ..display.progress import seconds
from ..display.response import LlamaResponse
from ..display.styles import error_html, footer_html, text_html
from ..errors import clip
from ..params import format_cost
from . import typed_records as schema_records
from .runner import NotSent, failed, sent_line

SHOWN_ROWS = 50  # rows in the display; the result holds them all
SHOWN_CHARS = 160  # characters of an item or an answer in the display
SHARED = ("model", "params", "offline")  # provenance that the display's metadata records once


class BatchDisplay:
    """The display half of ``BatchResult`` (a mixin: it reads the result's answers and counts)."""

    def totals(self) -> str:
        """One line: requests, failures, tokens, cost, wall time (and how the run ended)."""
        fails = sum(failed(r) and not isinstance(r, NotSent) for r in self.results)  # sent, and failed
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
        else:
            ended = (
                "interrupted"
                if self.interrupted
                else "cancelled"
                if self.cancelled
                else "stopped"
                if self.error is not None
                else ""
            )
            if ended:
                parts.append(f"{ended} after {self.finished} of {len(self)}: {sent_line(self.results)}")
        return " · ".join(parts)

    def _rows(self):
        for label, item, result in list(zip(self.labels, self.items, self.results, strict=True))[:SHOWN_ROWS]:
            shown = item if self.kind != "DataFrame" else ", ".join(f"{k}={v}" for k, v in item.items())
            answer = snippet(result.text) if isinstance(result, LlamaResponse) else f"⚠ {clip(result, SHOWN_CHARS)}"
            yield clip(label, 30), clip(shown, SHOWN_CHARS), answer, failed(result)

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
            "<table class='dataoorts-batch'><thead><tr><th style='text-align:left'>#</th>"
            "<th style='text-align:left'>item</th><th style='text-align:left'>answer</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{more}"
            f"{footer_html(self.totals())}"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        if not self.done:  # the rows fill in; the table and its provenance are shown when it ends
            return {"text/html": footer_html(self._running_line()), "text/plain": self._running_line()}, {}
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}, self.metadata()
