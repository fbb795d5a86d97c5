"""The one usage tally shape: a model's requests, cache hits, failures, tokens and USD.

The session's spending (``pipeline.budget.Spending``), the all-time totals read from the log
(``ExchangeLog.usage``), ``%llama_usage`` and the panel's totals line all count in it, with
:meth:`ModelTally.count`, so "what a request counts for" is said once. A plain class: a
dataclass costs about a millisecond of ``%load_ext`` to build.
"""

from __future__ import annotations

from collections.abc import Iterable


class ModelTally:
    """One model's counts; ``unknown_cost`` counts the answers whose price or usage was unknown."""

    def __init__(self, requests=0, cached=0, errors=0, prompt_tokens=0, completion_tokens=0, cost=0.0, unknown_cost=0):
        self.requests, self.cached, self.errors = requests, cached, errors
        self.prompt_tokens, self.completion_tokens = prompt_tokens, completion_tokens
        self.cost = cost
        self.unknown_cost = unknown_cost

    def __repr__(self) -> str:
        return f"ModelTally({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"

    def count(
        self,
        n: int = 1,
        *,
        cached: bool = False,
        error: bool = False,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost: float = 0.0,
        unknown_cost: int = 0,
    ) -> None:
        """Add ``n`` requests: cache hits and failures count as requests only; answers add tokens and USD."""
        self.requests += n
        if cached:
            self.cached += n
        elif error:
            self.errors += n
        else:
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens
            self.cost += cost
            self.unknown_cost += unknown_cost

    @classmethod
    def total(cls, tallies: Iterable[ModelTally]) -> ModelTally:
        """Every model's counts added up."""
        out = cls()
        for t in tallies:
            for name, value in vars(t).items():
                setattr(out, name, getattr(out, name) + value)
        return out
