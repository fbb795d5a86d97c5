"""``--context N``: the last N cells run, as one delimited block before the prompt in the user message.

Each cell gives its number, its source (a ``python`` fence), its result and its error when it
has them (a ``text`` fence; a DataFrame as its Markdown table), oldest first, between a first
and a last line that say where the notebook ends and the question begins. Model text or HTML in
a result is fenced as text, so it reaches the model as text and is never rendered on the way.

The block must leave the model room to answer: the oldest cells are left out until the
request (system prompt, context, prompt) plus ``max_tokens`` fits the model's context window,
and :func:`with_context` says so in a one-line note. Token counts come from the caller's
``estimate`` (the pipeline's, which trims conversations the same way), so this module stays
below the pipeline. The context is added after ``{field}`` interpolation: braces in a cell's
code are sent as typed.
"""

from __future__ import annotations

from collections.abc import Callable

from ..params import PARAMS, model_info
from .notebook_cells import NotebookCells

BEGIN = "=== Notebook context: {what} ==="
END = "=== End of notebook context: my question follows ==="


def _fence(text: str, lang: str) -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text}\n{ticks}"


def cell_text(cells: NotebookCells, n: int) -> str:
    """One cell of the block: ``In [n]:`` and its source, then its result and its error if any."""
    parts = [f"In [{n}]:", _fence(cells.source(n), "python")]
    result = cells.result(n)
    if result:
        parts.append(f"Out [{n}]:")
        parts.append(_fence(result, cells.result_kind(n)))
    error = cells.error(n)
    if error:
        parts += [f"Error in [{n}]:", _fence(error, "text")]
    return "\n".join(parts)


def block(texts: list[str]) -> str:
    """The delimited block around the cells' texts ('' for none)."""
    if not texts:
        return ""
    what = "the cell I ran before this question"
    if len(texts) > 1:
        what = f"the {len(texts)} cells I ran before this question, oldest first"
    return "\n\n".join([BEGIN.format(what=what), *texts, END])


def with_context(
    prompt: str,
    cells: NotebookCells,
    count: int,
    *,
    window: int,
    max_tokens: int,
    system: str | None,
    estimate: Callable[[list[dict]], int],
) -> tuple[str, str | None]:
    """``(the user message with the block before the prompt, a note or None)``.

    ``estimate(messages)`` counts a request's prompt tokens; the oldest cells are left out
    until system + block + prompt + ``max_tokens`` fit ``window``.
    """
    numbers = cells.before(count)
    texts = [cell_text(cells, n) for n in numbers]
    head = [{"role": "system", "content": system}] if system else []

    def message(kept: list[str]) -> str:
        context = block(kept)
        return f"{context}\n\n{prompt}" if context else prompt

    kept = texts
    while kept and estimate([*head, {"role": "user", "content": message(kept)}]) + max_tokens > window:
        kept = kept[1:]
    note = None
    if not numbers:
        note = "--context: no cell has run before this one yet, so no context was sent"
    elif len(kept) < len(texts):
        left = len(texts) - len(kept)
        which = "the oldest cell" if left == 1 else f"the {left} oldest cells"
        if not kept:
            which = "every cell" if len(texts) > 1 else "the cell"
        note = (
            f"--context: {which} of {len(texts)} left out to fit the {window:,}-token window "
            f"with room for max_tokens={max_tokens}"
        )
    return message(kept), note


def for_settings(
    prompt: str, cells: NotebookCells, count: int, eff: dict, *, system: str | None, estimate
) -> tuple[str, str | None]:
    """:func:`with_context` for a cell's effective settings ``eff`` (model, max_tokens, system prompt)."""
    if count == 0:
        return prompt, None
    info = model_info(eff["model"])
    return with_context(
        prompt,
        cells,
        count,
        window=info.context_window if info else PARAMS["max_tokens"].max,
        max_tokens=eff["max_tokens"],
        system=system if system is not None else eff["system"],
        estimate=estimate,
    )
