"""Code blocks highlighted with Pygments in the JupyterLab theme's colours, and only the CSS they need.

``block(code, language, needs)`` gives one ``<div class="codehilite"><pre tabindex="0"><code>`` block whose
tokens are ``<span class="k">``-style Pygments classes, and adds what its stylesheet needs
("code" and each class used) to ``needs``; ``stylesheet(needs)`` gives the ``<style>`` with exactly
those rules (an answer without code or a table carries none). Colours come from
``styles.CODE_TOKENS``; a token with no colour of its own is left as plain text (no span), which
keeps answers small. Where ``<style>`` is stripped the block is an ordinary ``<pre>``, readable.
A long line scrolls sideways inside the block, so the block takes the keyboard focus (``tabindex``):
a region that scrolls must be reachable without a mouse (WCAG 2.1.1; axe-core's scrollable-region-focusable).

One formatter and the lexers (by name, a bounded cache) are built once and reused: building them
per block is what made the old renderer slow. Pygments is imported on first use.
"""

from __future__ import annotations

import functools
import re
from html import escape

from .styles import BLOCK_RULES, CODE_TOKENS

SCOPE = ".dataoorts-answer"
_SPAN = re.compile(r'<span class="([a-z0-9]+)">([^<]*)</span>')
_formatter = None
_rules: dict[str, str] | None = None  # Pygments class -> our CSS rule ("" for none)


def _build() -> None:
    global _formatter, _rules
    from pygments.formatters import HtmlFormatter
    from pygments.token import STANDARD_TYPES, string_to_tokentype

    declarations = {string_to_tokentype(name): css for name, css in CODE_TOKENS.items()}
    rules = {}
    for token, css_class in STANDARD_TYPES.items():
        found = token
        while found not in declarations and found.parent is not None:
            found = found.parent
        css = declarations.get(found)
        rules[css_class] = f"{SCOPE} .{css_class}{{{css}}}" if css and css_class else ""
    _rules = rules
    _formatter = HtmlFormatter(nowrap=True)


@functools.lru_cache(maxsize=64)
def _lexer(language: str):
    """The lexer for a fence's language (Pygments' own names and aliases), or None for plain text."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return None


def token_classes() -> frozenset:
    """Every class a highlighted block may carry (the sanitizer's allow-list for ``<span>``)."""
    if _rules is None:
        _build()
    return frozenset(c for c, rule in _rules.items() if rule)


def block(code: str, language: str | None, needs: set) -> str:
    """One highlighted code block (plain escaped text for an unknown language); adds what it needs to ``needs``."""
    if _rules is None:
        _build()
    body, classes = _highlighted(language.strip().lower() if language else "", code)
    needs.update(classes)
    return f'<div class="codehilite"><pre tabindex="0"><code>{body}</code></pre></div>'


@functools.lru_cache(maxsize=256)
def _highlighted(language: str, code: str) -> tuple[str, frozenset]:
    """(HTML, what its stylesheet needs) of one block. Cached: a stream re-renders every finished block
    at each update, and the panel its whole transcript at each turn; Pygments' lexers take ~1 ms a block."""
    lexer = _lexer(language) if language else None
    if lexer is None:
        return escape(code, quote=False), frozenset({"code"})
    from pygments import highlight

    used = {"code"}

    def keep(m):
        if _rules.get(m[1]) and (m[1] != "o" or m[2] != "."):  # a.b's dot is plain, as in JupyterLab
            used.add(m[1])
            return m[0]
        return m[2]

    return _SPAN.sub(keep, highlight(code, lexer, _formatter)), frozenset(used)


def stylesheet(needs) -> str:
    """The ``<style>`` with only the rules ``needs`` names ("code", "table", token classes); "" for none."""
    if not needs:
        return ""
    rules = [BLOCK_RULES[k] for k in ("code", "table") if k in needs]
    return "<style>" + "".join(rules + [_rules[c] for c in sorted(needs) if c in _rules]) + "</style>"
