"""The notebook in a ``%%llama`` prompt: ``{In[n]}`` / ``{Out[n]}`` / ``{Err[n]}``, ``-x``, and ``-f code``'s cell.

The magic calls :func:`fill` once with the typed prompt; it interpolates the user's names and the
notebook's cells, notes a ``{field}`` that is not defined (sent as typed), and puts the context
block of ``-x`` before the prompt. :func:`offer_code` puts a ``-f code`` answer's first code block
into a new cell below. The text itself is made in ``prompting`` (``notebook_cells``,
``notebook_context``), so the panel builds the same.
"""

from __future__ import annotations

import argparse
import sys
from collections import ChainMap

from IPython.core.error import UsageError

from ..params import PARAMS, validate
from ..pipeline.conversations import estimate_tokens
from ..pipeline.settings import read_key
from ..prompting import cell_record
from ..prompting.interpolate import interpolate_noting
from .usage_errors import one_line_errors

MAX_CONTEXT_CELLS = 50
USE_SETTING = -1  # "-x" with no N: the context_cells setting


def context_count(text: str) -> int:
    """``-x N``'s N: a whole number from 0 to 50 (argparse shows the message as one line)."""
    try:
        n = int(text)
    except ValueError:
        n = -2
    if not 0 <= n <= MAX_CONTEXT_CELLS:
        raise argparse.ArgumentTypeError(f"-x {text}: give the number of cells to send, 0 to {MAX_CONTEXT_CELLS}")
    return n


def note(line: str) -> None:
    print(f"Note: {line}", file=sys.stderr)


def missing_note(missing: list[str]) -> str:
    """``{plant_name} is not defined here: sent as typed; --raw silences this``."""
    names = ", ".join("{" + field + "}" for field in missing)
    return f"{names} {'is' if len(missing) == 1 else 'are'} not defined here: sent as typed; --raw silences this"


def cells_of(magics):
    """The cells run so far, as ``{In/Out/Err[n]}`` and ``-x`` read them (imported at the first cell)."""
    from ..prompting.notebook_cells import NotebookCells

    shell = magics.shell
    return NotebookCells(shell, cell_record.for_shell(shell), read_key(magics.llama_session._key))


def fill(magics, prompt: str, system: str | None, opts) -> tuple[str, str | None, str]:
    """(prompt, system) as sent, fields filled (unless --raw) and the -x context before the prompt;
    then the prompt without the context, which is what a ``-c`` conversation keeps of this turn."""
    if opts.raw and opts.context is None:
        return prompt, system, prompt
    cells = cells_of(magics)
    if not opts.raw:
        namespace = ChainMap(cells.names(), magics.shell.user_ns)
        prompt, missing = interpolate_noting(prompt, namespace)
        if system is not None:
            system, more = interpolate_noting(system, namespace)
            missing += [field for field in more if field not in missing]
        if missing:
            note(missing_note(missing))
    if opts.context is None:
        return prompt, system, prompt
    flags = {name: getattr(opts, name) for name in PARAMS}
    eff = magics.llama_session.effective({**flags, "model": opts.model, "system": system})
    with one_line_errors():  # a bad -n is told here as the request would tell it
        eff["max_tokens"] = validate({name: eff[name] for name in PARAMS}, eff["model"])["max_tokens"]
    count = eff["context_cells"] if opts.context == USE_SETTING else opts.context
    from ..prompting.notebook_context import for_settings

    sent, trimmed = for_settings(prompt, cells, count, eff, system=system, estimate=estimate_tokens)
    if trimmed:
        note(trimmed)
    return sent, system, prompt


def turn_without_context(req, prompt: str):
    """A ``-c`` turn keeps its prompt without the ``-x`` context: the context goes with this turn only.

    Later turns send the conversation without it, so an 8,000-token window is not filled with
    old copies of cells; ask with ``-x`` again to send the cells as they are then. The old turns
    were trimmed with the context counted (the request was built with it)."""
    return req._replace(prompt=prompt) if req.chat is not None else req


def check(opts) -> None:
    """-x sends one request's context: not with --over (each item is its own question)."""
    if opts.context is not None and opts.over is not None:
        raise UsageError("-x adds the notebook's last cells to one question, not to each item of --over: drop -x.")


def shown(shell, response, opts) -> None:
    """After an answer is shown: keep its text for ``{Out[n]}`` and ``-x``, and offer ``-f code``'s cell."""
    record = cell_record.for_shell(shell)
    if record is not None and not opts.quiet:  # what the cell showed: -f code shows the code alone
        record.note_answer(str(response.value) if response.format == "code" else response.text)
    offer_code(shell, response, opts)


def offer_code(shell, response, opts) -> None:
    """A ``-f code`` answer's first code block as a new cell below this one, not run (``set_next_input``)."""
    if opts.quiet or response.format != "code":
        return
    from ..display.answer_parts import first_code_block

    block = first_code_block(response.text)
    if block is None:
        note("the answer has no code block, so no new cell was made")
        return
    shell.set_next_input(block[1].rstrip("\n"), replace=False)
