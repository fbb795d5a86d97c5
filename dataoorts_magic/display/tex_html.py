r"""Math as LLMs write it, read as TeX and never as Markdown, in the form MathJax typesets.

``use(md)`` teaches a markdown-it parser ``$…$``, ``$$…$$`` (mdit-py-plugins' dollarmath),
``\(…\)``, ``\[…\]`` (texmath's brackets, and ``\[…\]`` inside a paragraph too) and bare
``\begin{align}``-style environments (amsmath). Each formula is rendered as its TeX, verbatim and
HTML-escaped, between ``\(…\)`` or ``\[…\]`` in a ``<span class="math">`` (a ``<div>`` for a block).
Those are delimiters that JupyterLab 4 and Notebook 7 (MathJax 3, which typesets ``text/html``
outputs) and nbconvert's HTML (MathJax 2) all read.

MathJax looks for delimiters in every run of text, so money would be typeset too (``$5 and $10``).
Every other ``$`` and ``\`` of the text is therefore put in its own ``<span>``: MathJax looks for
a formula only within one run of text between tags, so it finds none there. Code is never
searched (MathJax skips ``<code>`` and ``<pre>``; markdown-it never reads math inside code).

``$`` follows Pandoc's rule, which keeps money as money: the opening ``$`` has a non-space after it
and no digit before it, the closing one a non-space before it and no digit after it.
"""

from __future__ import annotations

import re
from html import escape

_LITERAL = re.compile(r"[$\\]")  # the characters MathJax could take for a delimiter


def _tex(content: str) -> str:
    return escape(content.strip(), quote=False)


def _inline(self, tokens, idx, options, env) -> str:
    return f'<span class="math">\\({_tex(tokens[idx].content)}\\)</span>'


def _display_inline(self, tokens, idx, options, env) -> str:
    return f'<span class="math">\\[{_tex(tokens[idx].content)}\\]</span>'


def _display(self, tokens, idx, options, env) -> str:
    return f'<div class="math">\\[{_tex(tokens[idx].content)}\\]</div>\n'


def _environment(self, tokens, idx, options, env) -> str:
    return f'<div class="math">{_tex(tokens[idx].content)}</div>\n'


def _text(self, tokens, idx, options, env) -> str:
    """Text outside math: escaped, with each ``$`` and ``\\`` alone in a ``<span>`` (see the module docstring)."""
    text = escape(tokens[idx].content, quote=False)
    return _LITERAL.sub(r"<span>\g<0></span>", text) if "$" in text or "\\" in text else text


def use(md) -> None:
    """Add the math rules to ``md`` (a ``MarkdownIt``) and render math and text as described above."""
    from mdit_py_plugins.amsmath import amsmath_plugin
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    from mdit_py_plugins.texmath import texmath_plugin
    from mdit_py_plugins.texmath.index import make_inline_func

    md.use(
        dollarmath_plugin,
        allow_labels=False,
        allow_space=False,
        allow_digits=False,
        allow_blank_lines=False,
        double_inline=True,
    )
    md.use(texmath_plugin, delimiters="brackets")
    md.use(amsmath_plugin)
    # texmath reads \[…\] only as a block of its own; a model also writes it inside a paragraph
    display_rule = {"name": "math_display", "rex": re.compile(r"^\\\[(.+?)\\\]", re.DOTALL), "tag": "\\[", "tmpl": ""}
    md.inline.ruler.before("escape", "math_display", make_inline_func(display_rule))
    md.add_render_rule("math_inline", _inline)
    for name in ("math_inline_double", "math_display"):
        md.add_render_rule(name, _display_inline)
    for name in ("math_block", "math_block_eqno", "math_block_label"):
        md.add_render_rule(name, _display)
    md.add_render_rule("amsmath", _environment)
    md.add_render_rule("text", _text)
