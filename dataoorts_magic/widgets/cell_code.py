"""The ``%%llama`` cell that sends a given request: the text behind the panel's "Show as %%llama cell".

Pure text, no IPython. Options: ``-m`` when the model is not the default one, ``-s`` with
the system prompt, one ``--flag value`` per parameter that is sent (max_tokens only when it
is not the default 512), ``-c`` for a conversation, ``-f`` when asked, ``-x N`` for the
notebook's last cells, and ``--raw`` when a brace could be taken for a ``{name}`` field (the
panel sends text as typed). The prompt is the cell body. Values are quoted the way the magic's
line parser reads them back: double quotes, with backslashes and double quotes escaped. A
``%%llama`` line cannot hold a line break, so a system prompt with one gives a Python cell
that runs the same magic through ``get_ipython().run_cell_magic``.
"""

from __future__ import annotations

import re

from ..params import DEFAULT_MAX_TOKENS, DEFAULT_MODEL, PARAMS

_PLAIN = re.compile(r"[\w@%+=:,./-]+")


def quote(text: str) -> str:
    """``text`` as one word of a ``%%llama`` line."""
    if _PLAIN.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _option(short: str, long: str, value: str) -> str:
    word = quote(value)
    # argparse would take a value that starts with "-" for an option, unless it is attached with "="
    return f"{long}={word}" if word.startswith("-") else f"{short} {word}"


def _number(value) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))  # repr: the shortest exact form


def cell_code(
    prompt: str,
    model: str,
    system: str | None,
    params: dict,
    *,
    chat: str | None = None,
    fmt: str | None = None,
    context: int | None = None,
) -> str:
    """The cell text: ``%%llama`` and its options on the first line, then the prompt."""
    options = []
    if model != DEFAULT_MODEL:
        options.append(_option("-m", "--model", model))
    if system:
        options.append(_option("-s", "--system", system))
    for name, value in params.items():
        if value is None or (name == "max_tokens" and value == DEFAULT_MAX_TOKENS):
            continue
        options.append(f"{PARAMS[name].flags[-1]} {_number(value)}")
    if chat:
        options.append(f"-c {quote(chat)}")
    if fmt:
        options.append(f"-f {fmt}")
    if context is not None:
        options.append(f"-x {context}")
    if any(brace in text for text in (prompt, system or "") for brace in "{}"):
        options.append("--raw")
    line = " ".join(options)
    if "\n" in line or "\r" in line:
        return (
            "# A %%llama line cannot hold a line break, so this runs the same magic from Python.\n"
            f"get_ipython().run_cell_magic('llama', {line!r}, {prompt!r})"
        )
    return f"%%llama {line}".rstrip() + "\n" + prompt
