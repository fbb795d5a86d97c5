"""Keep IPython's ``obj?`` help syntax from taking a one-line prompt that ends in a question mark.

IPython reads any line ending in ``?`` as a help request, so ``%llama What is AI?`` would show
"Object `AI` not found." instead of asking. A cleanup transform (it runs before IPython's
own) turns such a line into the ``run_line_magic`` call it was meant to be. ``%llama?``
and ``%llama ?`` still show the help, and ``%%llama`` cells are never touched.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"^(?P<indent>[ \t]*)%llama[ \t]+(?P<args>\S.*\?)[ \t]*$")


def keep_question_marks(lines: list[str]) -> list[str]:
    """The cell's lines, with each ``%llama ...?`` line made an explicit magic call."""
    if not lines or lines[0].lstrip().startswith("%%"):
        return lines
    out = []
    for line in lines:
        m = _LINE.match(line.rstrip("\n"))
        if m:
            line = f"{m['indent']}get_ipython().run_line_magic('llama', {m['args']!r})\n"
        out.append(line)
    return out


def install(ipython) -> None:
    if keep_question_marks not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(keep_question_marks)


def uninstall(ipython) -> None:
    while keep_question_marks in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(keep_question_marks)
