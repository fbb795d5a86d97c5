"""The one place for the colours and small inline styles of our output: footers, totals, errors, code.

Every display (an answer's footer, a batch's totals, a comparison's failed column, the panel's
error line, a table's note, a highlighted code block) takes its style from here, so a change of
colour lands everywhere at once. Colours are JupyterLab's theme variables (so JupyterLab Dark
gets its own colours), each with a light fallback for HTML shown outside JupyterLab (nbconvert,
a classic page). Our own lines use inline styles, not classes: a front end may strip ``<style>``
from an untrusted notebook, and these lines must stay readable then. The model's answer carries no
inline style at all (the sanitizer allows none): its code colours and block look are rules of a
small stylesheet that comes with an answer only when it has code or a table.

Every colour reads at a contrast of at least 4.5:1 in JupyterLab Light and Dark (measured by
``tests/e2e/test_browser_rendering.py``). Where a theme colour of JupyterLab's editor does not
(comments in both themes, numbers in Light, ...), ``color-mix`` moves it a third of the way toward
the editor's text colour; a browser without ``color-mix`` keeps the plain theme colour before it.
"""

from __future__ import annotations

import html

from .defang import defang

FOOTER = "color:var(--jp-ui-font-color2,#616161);font-size:85%"  # smaller, dimmer line under an answer
ERROR = "color:var(--jp-error-color1,#b00020)"  # one red for every error line and failed item
RULE = "border-bottom:1px solid var(--jp-border-color2,#ccc)"  # the line under a comparison's headers

# The block look of code (its words whole and its lines as written: a long line scrolls sideways inside
# its block, where JupyterLab's output <pre> and <code> would break it mid-word) and the alignment of table cells
# (as in a Markdown cell: headers centred, cells left, unless the table says), as rules of an answer's
# stylesheet (JupyterLab gives every <code> the page background and right-aligns the cells of HTML
# outputs). Where <style> is stripped, code is still an ordinary <pre>, readable in any theme.
BLOCK_RULES = {
    "code": (
        ".dataoorts-answer .codehilite pre{background:var(--jp-cell-editor-background,#f5f5f5);"
        "padding:.5em .7em;margin:0 0 1em;border-radius:2px;overflow-x:auto;"
        "white-space:pre;word-break:normal;overflow-wrap:normal}"
        ".dataoorts-answer .codehilite code{background:none;padding:0;white-space:pre}"
    ),
    "table": (
        ".dataoorts-answer tr>td:not([align]){text-align:left}.dataoorts-answer tr>th:not([align]){text-align:center}"
        ".dataoorts-answer tr>:is(th,td)[align=center]{text-align:center}"
        ".dataoorts-answer tr>:is(th,td)[align=right]{text-align:right}"
    ),
}


def _editor(name: str, fallback: str) -> str:
    return f"var(--jp-mirror-editor-{name}-color,{fallback})"


def _readable(name: str, fallback: str) -> str:
    """A theme colour moved a third of the way toward the editor's text colour (see the module docstring)."""
    colour = _editor(name, fallback)
    return f"color:{colour};color:color-mix(in srgb,{colour} 65%,{_editor('variable', '#212121')})"


_KEYWORD = f"color:{_editor('keyword', '#008000')};font-weight:bold"
_STRING = f"color:{_editor('string', '#ba2121')}"
# Pygments token (its dotted name) -> declarations; a token without an entry takes its parent's,
# and one with none at all has the code's own colour. As JupyterLab's editor colours code (its
# highlight style, which jupyterlab_pygments follows too): punctuation, brackets and a.b's dot plain.
CODE_TOKENS = {
    "Keyword": _KEYWORD,
    "Operator": f"color:{_editor('operator', '#7800c2')};font-weight:bold",
    "Operator.Word": _KEYWORD,
    "Name.Builtin": f"color:{_editor('builtin', '#008000')}",
    "Name.Builtin.Pseudo": f"color:{_editor('variable-2', '#00366d')}",
    "Name.Function": _readable("def", "#00f"),
    "Name.Class": _readable("def", "#00f"),
    "Name.Decorator": _readable("meta", "#a2f"),
    "Name.Tag": _KEYWORD,
    "Name.Attribute": f"color:{_editor('attribute', '#00c')}",
    "Name.Variable": f"color:{_editor('variable-2', '#00366d')}",
    "String": _STRING,
    "String.Escape": f"color:{_editor('string-2', '#708')}",
    "String.Interpol": f"color:{_editor('string-2', '#708')}",
    "String.Regex": f"color:{_editor('string-2', '#708')}",
    "Number": _readable("number", "#080"),
    "Comment": _readable("comment", "#408080") + ";font-style:italic",
    "Generic.Heading": f"color:{_editor('header', '#00f')};font-weight:bold",
    "Generic.Subheading": f"color:{_editor('header', '#00f')};font-weight:bold",
    "Generic.Deleted": _STRING,
    "Generic.Inserted": f"color:{_editor('keyword', '#008000')}",
    "Generic.Prompt": f"color:{_editor('variable-2', '#00366d')};font-weight:bold",
    "Generic.Emph": "font-style:italic",
    "Generic.Strong": "font-weight:bold",
}


def footer_html(text: str, css_class: str = "dataoorts-footer", extra: str = "") -> str:
    """``text`` (escaped, script URLs broken) as a footer line: ``<div class=... style=FOOTER>``; ``extra`` adds CSS."""
    style = FOOTER + (f";{extra}" if extra else "")
    return f'<div class="{css_class}" style="{style}">{text_html(text)}</div>'


def error_html(text: str, tag: str = "div", css_class: str = "dataoorts-error") -> str:
    """``text`` (escaped, script URLs broken: a server's message may hold them) in the error colour."""
    return f'<{tag} class="{css_class}" style="{ERROR}">{text_html(text)}</{tag}>'


def text_html(text) -> str:
    """Untrusted text as HTML text: escaped, and with javascript:/data: broken (MathJax typesets our
    HTML, and its ``\\href`` would make a link of them)."""
    return defang(html.escape(str(text)))
