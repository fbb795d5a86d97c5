"""``{name}`` expansion in prompts, without ``eval``; DataFrames as compact Markdown tables.

A field is an identifier followed by any number of steps: ``.attr``, ``[0]``, ``[-1]``,
``['key']`` or ``["key"]`` (``{row.name}``, ``{rows[0]['title']}``). It is looked up in the
namespace and replaced by ``str()`` of the value; a pandas DataFrame or Series becomes a short
Markdown description instead of its repr (``frame_markdown``).

Anything else stays exactly as typed, so JSON and code in prompts pass through:

- a brace group that is not a field (``{"a": 1}``, ``{x: 1}``, ``{ x }``);
- a field that does not resolve: unknown name, failed lookup, any exception from a property,
  ``__getitem__`` or ``__str__``;
- attributes that start with ``_`` (``{x.__class__}``), refused so a prompt can't go poking;
- format specs and conversions (``{x:>10}``, ``{x!r}``): not supported, on purpose.

``{{`` and ``}}`` give literal ``{`` and ``}`` (``{{x}}`` -> ``{x}`` even when ``x`` exists).
A ``}}`` that closes a brace group left as typed stays ``}}``, so nested JSON such as
``{"a": {"b": 1}}`` is unchanged.

Pure functions: no IPython, and pandas is never imported here (frames are recognised by
their class, in ``frame_markdown``), so importing this module stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from .frame_markdown import frame_to_markdown, pandas_kind

__all__ = ["interpolate", "interpolate_noting", "unresolved_fields", "fields"]

_NAME = r"[^\W\d]\w*"
_STEP = (
    r"\.(?P<attr>" + _NAME + r")"
    r"|\[(?P<int>-?\d+)\]"
    r"|\['(?P<sq>[^'\n]*)'\]"
    r'|\["(?P<dq>[^"\n]*)"\]'
)
_STEP_RE = re.compile(_STEP)
_ROOT_RE = re.compile(_NAME)
# Named groups inside a repeated group are fine: the field regex only checks the shape,
# _STEP_RE then walks the steps one by one.
_FIELD_RE = re.compile(r"\{(" + _NAME + r"(?:" + _STEP + r")*)\}")

# What an open "{" on the stack was: an escape ("{{") or a group left as typed.
_ESC, _GROUP = "esc", "group"

_MISSING = object()


def interpolate(text: str, namespace: Mapping[str, object]) -> str:
    """Return ``text`` with every resolvable ``{field}`` replaced by its value.

    In [1]: title = "Dune"
    In [2]: interpolate('Review {title}; reply as {"stars": 1-5}.', globals())
    Out[2]: 'Review Dune; reply as {"stars": 1-5}.'
    """
    return _scan(text, lambda field: _render_field(field, namespace))


def interpolate_noting(text: str, namespace: Mapping[str, object]) -> tuple[str, list[str]]:
    """``(interpolate(text), unresolved_fields(text))`` in one walk over the braces."""
    missing: list[str] = []

    def resolve(field: str) -> str | None:
        rendered = _render_field(field, namespace)
        if rendered is None and field not in missing:
            missing.append(field)
        return rendered

    return _scan(text, resolve), missing


def unresolved_fields(text: str, namespace: Mapping[str, object]) -> list[str]:
    """The fields (as typed, without braces) that look like references but did not resolve.

    Meant for a warning such as "left as typed: {usr}"; empty when everything resolved.
    Brace groups that are not fields at all (JSON, ``{x: 1}``) are not listed.
    """
    return interpolate_noting(text, namespace)[1]


def fields(text: str) -> list[str]:
    """The fields used in ``text``, as typed without braces, in order and without repeats.

    Like ``string.Formatter`` field names, a field keeps its steps: ``{item.title}`` gives
    ``"item.title"``; its root name is the leading identifier. Escaped ``{{item}}`` is not a field.
    """
    found: list[str] = []

    def record(field: str) -> None:
        if field not in found:
            found.append(field)

    _scan(text, record)
    return found


def _scan(text: str, resolve: Callable[[str], str | None]) -> str:
    """Walk the braces of ``text``; ``resolve(field)`` returns the replacement or None."""
    # str.find jumps between braces at memchr speed; a regex search over the whole prompt
    # costs several times more (this runs on every cell).
    find = text.find
    open_at, close_at = find("{"), find("}")
    if open_at < 0 and close_at < 0:
        return text
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while open_at >= 0 or close_at >= 0:
        if close_at < 0 or 0 <= open_at < close_at:
            start = open_at
            out.append(text[pos:start])
            if text.startswith("{{", start):
                out.append("{")
                stack.append(_ESC)
                pos = start + 2
            else:
                f = _FIELD_RE.match(text, start)
                rendered = resolve(f.group(1)) if f is not None else None
                if rendered is not None:
                    out.append(rendered)
                    pos = f.end()
                else:
                    out.append("{")
                    stack.append(_GROUP)
                    pos = start + 1
        else:
            start = close_at
            out.append(text[pos:start])
            out.append("}")
            if stack and stack[-1] == _GROUP:
                # Closes a group kept as typed, so a following "}" is not an escape:
                # nested JSON like {"a": {"b": 1}} keeps its "}}".
                stack.pop()
                pos = start + 1
            elif text.startswith("}}", start):
                if stack:
                    stack.pop()
                pos = start + 2
            else:
                pos = start + 1
        if 0 <= open_at < pos:
            open_at = find("{", pos)
        if 0 <= close_at < pos:
            close_at = find("}", pos)
    out.append(text[pos:])
    return "".join(out)


def _render_field(field: str, namespace: Mapping[str, object]) -> str | None:
    """``field``'s value as prompt text, or None when anything about it fails."""
    try:
        value = _resolve(field, namespace)
        if value is _MISSING:
            return None
        if isinstance(value, str):
            return value
        if pandas_kind(value) is not None:
            return frame_to_markdown(value)
        return str(value)
    except Exception:
        # A broken property, __getitem__ or __str__ must not break the prompt: leave it as typed.
        return None


def _resolve(field: str, namespace: Mapping[str, object]) -> object:
    """Follow ``field``'s steps from the namespace; ``_MISSING`` if the root name is unknown."""
    root = _ROOT_RE.match(field)
    try:
        value = namespace[root.group()]
    except KeyError:
        return _MISSING
    for step in _STEP_RE.finditer(field, root.end()):
        attr = step.group("attr")
        if attr is not None:
            if attr.startswith("_"):
                return _MISSING
            value = getattr(value, attr)
        elif step.group("int") is not None:
            value = value[int(step.group("int"))]
        else:
            key = step.group("sq")
            value = value[key if key is not None else step.group("dq")]
    return value
