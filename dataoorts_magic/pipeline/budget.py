"""This session's spend, per model, and the budget check made before anything is sent.

``Spending`` counts what this kernel asked for (requests, answers from the cache, failures,
tokens, USD). The budget check reserves a request's worst case until its answer arrives, so
requests in flight at once (``--over``, ``--compare``, the panel) cannot together pass the cap
as long as the server's usage stays within ``max_tokens`` (see :class:`Spending` for one that does not).

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


class Held(float):
    """A reservation (the USD of a request's worst case): ``settle``/``release`` of one ends its time in flight."""


class Spending:
    """Thread-safe tallies of this session; ``spent`` is the USD of answers actually paid for.

    A request waits (it is not refused) while it fits the cap only once the requests in flight
    have settled, so ``-j`` never changes which items are answered. A model's reported usage is
    trusted for the worst case only after one of its answers cost at most its reservation (and
    until one costs more): until then its requests go one at a time, so a server that reports
    usage past ``max_tokens`` passes the cap with one answer, not with every request in flight."""

    WAIT_S = 0.5  # a waiting request looks again at least this often (and an interrupt gets through)

    def __init__(self):
        self.by_model: dict[str, ModelTally] = {}
        self._reserved = 0.0
        self._in_flight = 0
        self._trusted: set[str] = set()
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)

    @property
    def spent(self) -> float:
        with self._lock:
            return sum(t.cost for t in self.by_model.values())

    def reserve(self, model: str, prompt_estimate: int, max_tokens: int, budget: float | None) -> float:
        """Hold the worst case of one request against ``budget``; return it (pass it to ``settle``).

        Waits while requests in flight keep it from fitting; raises BudgetExceededError, naming the
        spend so far and the cap, when it would pass the cap whatever they cost.
        """
        if budget is None:
            return 0.0
        worst = price(model, prompt_estimate, max_tokens)
        with self._settled:
            if worst is None:
                raise BudgetExceededError(
                    f"The price of {model} is unknown, so the budget of {usd(budget)} cannot be checked",
                    fix="Pick a model from %llama_models, or remove the cap with %llama_config budget=none.",
                )
            while True:
                spent = sum(t.cost for t in self.by_model.values())
                if spent + worst > budget:
                    raise BudgetExceededError(
                        f"Budget reached: this request could cost up to {usd(worst)} (at most {prompt_estimate} "
                        f"prompt tokens + {max_tokens} max_tokens), and this session has spent {usd(spent)} "
                        f"of its {usd(budget)} budget; nothing was sent"
                    )
                if self._in_flight == 0:
                    break
                if model in self._trusted and spent + self._reserved + worst <= budget:
                    break
                self._settled.wait(self.WAIT_S)
            self._reserved += worst
            self._in_flight += 1
        return Held(worst)

    def _end(self, reserved: float) -> None:
        """Lock held: a reservation ends; the requests waiting for room look again."""
        self._reserved = max(0.0, self._reserved - reserved)
        if isinstance(reserved, Held):
            self._in_flight = max(0, self._in_flight - 1)
        self._settled.notify_all()

    def release(self, reserved: float) -> None:
        """Give back a reservation whose request was never sent (its batch stopped); nothing is counted."""
        with self._lock:
            self._end(reserved)

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
            self._end(reserved)
            self.by_model.setdefault(model, ModelTally()).count(
                cached=cached,
                error=error,
                prompt_tokens=usage.prompt_tokens if usage is not None else 0,
                completion_tokens=usage.completion_tokens if usage is not None else 0,
                # under a budget, an answer of unknown cost counts as its worst case
                cost=reserved if cost is None else cost,
                unknown_cost=int(cost is None),
            )
            if isinstance(reserved, Held) and not (cached or error):  # was its usage within its worst case?
                within = cost is None or cost <= reserved * (1 + 1e-9) + 1e-15
                (self._trusted.add if within else self._trusted.discard)(model)

    def rows(self) -> dict[str, ModelTally]:
        with self._lock:
            return {model: ModelTally(**vars(t)) for model, t in self.by_model.items()}
