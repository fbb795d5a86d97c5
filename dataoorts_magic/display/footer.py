"""The one footer line: model, prompt -> completion tokens, cost, then what else the user should know.

A cell's answer (``LlamaResponse.footer``) and a conversation's turn shown again
(``transcripts.turn_footer``) both say it with :func:`footer_line`, so the two never drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..params import format_cost


def _tokens(usage) -> str:
    """``12 → 5 tokens`` from a ``Usage`` or a turn's usage dict; the words for none reported."""
    if usage is None:
        return "usage not reported"
    if isinstance(usage, dict):
        return f"{usage['prompt_tokens']} → {usage['completion_tokens']} tokens"
    return f"{usage.prompt_tokens} → {usage.completion_tokens} tokens"


def footer_line(
    model: str,
    usage,
    cost: float | None,
    *,
    elapsed: float | None = None,
    cached: bool = False,
    offline: bool = False,
    notes: Iterable[str] = (),
    budget: tuple[float, float] | None = None,
) -> str:
    """``model · p → c tokens · $cost[ · 1.23 s][ · cached][ · offline][ · notes][ · $0.4998 left of $0.50]``."""
    parts = [model, _tokens(usage), format_cost(cost)]
    if elapsed is not None:
        parts.append(f"{elapsed:.2f} s")
    if cached:
        parts.append("cached")
    if offline:
        parts.append("offline")
    parts.extend(notes)
    if budget is not None:
        parts.append(budget_left(*budget))
    return " · ".join(parts)


def budget_left(left: float, budget: float) -> str:
    """``$0.4998 left of $0.50``: what a class gateway says is left of a student's budget
    (INTERFACE.md section 14); fractions of a cent as the cost is shown."""
    of = f"${budget:.2f}" if round(budget, 2) == round(budget, 6) else format_cost(budget)
    return f"{format_cost(left) if left < 0.01 else f'${left:.4f}'} left of {of}"
