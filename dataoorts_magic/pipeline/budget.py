"""This session's spend, per model, and the budget check made before anything is sent.

``Spending`` counts what this kernel asked for (requests, answers from the cache, failures,
tokens, USD). The budget check reserves a request's worst case until its answer arrives, so
requests in flight at once (``--over``, ``--compare``, the panel) cannot together pass the cap.

The worst case must never be an under-estimate, in any language: a token of a byte-level BPE
tokenizer (Llama's) covers at least one byte of UTF-8, so the prompt is counted as its UTF-8
bytes plus a few tokens of framing per message (:func:`worst_prompt_tokens`), then
``max_tokens`` of completion, at the model's prices. An answer is charged what its usage says
(a completion past ``max_tokens`` included); one without usage is charged its reservation.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..errors import BudgetExceededError
from ..params import cost as price
from ..params import format_cost as usd
from ..store.tally import ModelTally

FRAMING_TOKENS = 8  # per message: role and header tokens (Llama 3 uses 4-5), and the turn's end


def worst_prompt_tokens(messages: Sequence[dict]) -> int:
    """An upper bound on the prompt tokens of ``messages`` (its UTF-8 bytes, see the module docstring)."""
    return sum(len((m.get("content") or "").encode("utf-8", "surrogatepass")) + FRAMING_TOKENS for m in messages) + 1


class Spending:
    """Thread-safe tallies of this session; ``spent`` is the USD of answers actually paid for."""

    def __init__(self):
        self.by_model: dict[str, ModelTally] = {}
        self._reserved = 0.0
        self._lock = threading.Lock()

    @property
    def spent(self) -> float:
        with self._lock:
            return sum(t.cost for t in self.by_model.values())

    def reserve(self, model: str, prompt_estimate: int, max_tokens: int, budget: float | None) -> float:
        """Hold the worst case of one request against ``budget``; return it (pass it to ``settle``).

        Raises BudgetExceededError, naming the spend so far and the cap, when it would pass the cap.
        """
        if budget is None:
            return 0.0
        worst = price(model, prompt_estimate, max_tokens)
        with self._lock:
            spent = sum(t.cost for t in self.by_model.values())
            if worst is None:
                raise BudgetExceededError(
                    f"The price of {model} is unknown, so the budget of {usd(budget)} cannot be checked",
                    fix="Pick a model from %llama_models, or remove the cap with %llama_config budget=none.",
                )
            if spent + self._reserved + worst > budget:
                pending = f" ({usd(self._reserved)} more in flight)" if self._reserved else ""
                raise BudgetExceededError(
                    f"Budget reached: this request could cost up to {usd(worst)} (at most {prompt_estimate} prompt "
                    f"tokens + {max_tokens} max_tokens), and this session has spent {usd(spent)}{pending} "
                    f"of its {usd(budget)} budget; nothing was sent"
                )
            self._reserved += worst
        return worst

    def release(self, reserved: float) -> None:
        """Give back a reservation whose request was never sent (its batch stopped); nothing is counted."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - reserved)

    def settle(
        self,
        reserved: float,
        model: str,
        usage=None,
        cost: float | None = None,
        *,
        cached: bool = False,
        error: bool = False,
    ) -> None:
        """Release a reservation and count the outcome of one request."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - reserved)
            self.by_model.setdefault(model, ModelTally()).count(
                cached=cached,
                error=error,
                prompt_tokens=usage.prompt_tokens if usage is not None else 0,
                completion_tokens=usage.completion_tokens if usage is not None else 0,
                # under a budget, an answer of unknown cost counts as its worst case
                cost=reserved if cost is None else cost,
                unknown_cost=int(cost is None),
            )

    def rows(self) -> dict[str, ModelTally]:
        with self._lock:
            return {model: ModelTally(**vars(t)) for model, t in self.by_model.items()}
