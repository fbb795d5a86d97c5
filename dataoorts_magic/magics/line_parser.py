"""Split a ``%llama`` line into its options and the prompt text that follows them.

IPython's own ``parse_argstring`` keeps quotes in tokens and fails on an apostrophe,
but a prompt is free text (``%llama What's -5 squared?``). So options are read from
the front of the line, shell-quoted, until the first word that is not an option; the
rest of the line is the prompt, untouched. ``--`` ends the options explicitly.

A word shaped like an option (``-x``, ``--word``) that is not one is a typo, not the start of
the prompt: it fails with the closest real flag, so ``--temprature 0.2`` is never sent as the
question, and ``-temperature 0.2`` (one dash) asks "did you mean --temperature?" rather than
reading ``-t`` with the value ``emperature``. A dash followed by a digit or a point (``-5``,
``-0.5``, ``-.5``) is a number and starts the prompt, so ``%llama -5 squared is?`` asks that.
``--`` lets a prompt start with ``-x`` anyway.
"""

from __future__ import annotations

import argparse
import keyword
import re
import shlex

from IPython.core.error import UsageError

# A word: quoted runs and other non-space characters, so --system="You're terse" is one word.
_WORD = re.compile(r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S)+""")
# What a user means as an option: a dash (or two) and a letter. -5 and -0.5 are numbers.
_OPTION_SHAPED = re.compile(r"--?[A-Za-z]")


def _unquote(word: str) -> str:
    try:
        parts = shlex.split(word)
    except ValueError:
        raise UsageError(f"Unbalanced quote in {word!r}: close the quote or put the text in the cell body.") from None
    return " ".join(parts)


def _option_kinds(parser: argparse.ArgumentParser) -> tuple[dict, set]:
    """option string -> nargs, and the set of options that take an optional value."""
    kinds = {}
    for action in parser._actions:  # argparse has no public list of its actions
        for name in action.option_strings:
            kinds[name] = action.nargs
    return kinds, {name for name, nargs in kinds.items() if nargs == "?"}


def _known(word: str, kinds: dict) -> str | None:
    """The option a word starts with (``--top-k=5``, ``-t0.2``, ``-n``), or None.

    A long flag typed with one dash (``-temperature``, ``-temp``, ``-over``) is None, not ``-t``
    with the value ``emperature``: it is a typo of ``--temperature``."""
    name = word.split("=", 1)[0]
    if name in kinds:
        return name
    if len(word) > 2 and word[:2] in kinds and not word.startswith("--") and not _one_dash_long(name, kinds):
        return word[:2]
    return None


def _one_dash_long(name: str, kinds: dict) -> bool:
    """``-temperature`` or ``-temp``: a long flag (or the start of one) typed with one dash."""
    long = "-" + name
    return long in kinds or (len(name) >= 5 and any(k.startswith(long) for k in kinds if k.startswith("--")))


def unknown_option(word: str, kinds: dict, cell_mode: bool) -> UsageError:
    """The one line for an option-shaped word that is no option, with the closest real flag."""
    import difflib  # only for a typo: %load_ext stays light

    name = word.split("=", 1)[0]
    magic = "%%llama" if cell_mode else "%llama"
    flags = [k for k in kinds if k.startswith("--")]
    typed = "-" + name if _one_dash_long(name, kinds) else name  # -temperature: a long flag with one dash
    # A cut-short flag (--temp) is its own best hint; difflib alone would rank --system first.
    close = [k for k in flags if k.startswith(typed)] or difflib.get_close_matches(typed, flags, n=1, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else f"see {magic}? for the options."
    if not cell_mode:
        hint += " (A prompt that starts with a dash goes after --.)"
    return UsageError(f"Unknown option {name!r} on the {magic} line: {hint}")


def split_line(line: str, parser: argparse.ArgumentParser, cell_mode: bool) -> tuple[list[str], str]:
    """(argv for the parser, prompt text). In cell mode the whole line must be options."""
    kinds, optional_value = _option_kinds(parser)
    argv: list[str] = []
    words = list(_WORD.finditer(line))
    i = 0
    while i < len(words):
        word = words[i].group()
        if word == "--":
            return argv, line[words[i].end() :].strip()
        name = _known(word, kinds)
        if name is None:
            if _OPTION_SHAPED.match(word):
                raise unknown_option(word, kinds, cell_mode)
            if cell_mode:
                raise UsageError(
                    f"Unexpected {word!r} on the %%llama line: put the prompt in the cell body "
                    "(see %%llama? for the options)."
                )
            return argv, line[words[i].start() :].strip()
        argv.append(_unquote(word))
        attached = word != name
        takes_value = kinds[name] not in (0, "?")
        optional = name in optional_value and cell_mode
        if not attached and i + 1 < len(words):
            following = words[i + 1].group()
            if takes_value or (optional and not following.startswith("-")):
                argv.append(_unquote(following))
                i += 1
        i += 1
    return argv, ""


def is_identifier(name: str) -> bool:
    return name.isidentifier() and not name.startswith("__")


# IPython's own names in the user's namespace: binding one breaks the shell (get_ipython is how
# every magic finds it) or is overwritten by the next cell (_, __, _i, ...).
IPYTHON_NAMES = frozenset(
    {"In", "Out", "get_ipython", "exit", "quit", "_", "__", "___", "_ih", "_oh", "_dh", "_i", "_ii", "_iii"}
)
_NUMBERED = re.compile(r"_i?\d+")  # _3 is Out[3], _i3 is In[3]


def out_name_problem(name: str) -> str | None:
    """Why ``-o name`` cannot store a result there (one line with the fix), or None when it can."""
    fix = "use a name like answer or r1."
    if keyword.iskeyword(name):
        return f"--out {name} is a Python keyword, not a variable name: {fix}"
    if name in IPYTHON_NAMES or _NUMBERED.fullmatch(name):
        return f"--out {name} is one of IPython's own names, and storing there would break the shell: {fix}"
    if not is_identifier(name):
        return f"--out {name!r} is not a variable name: {fix}"
    return None
