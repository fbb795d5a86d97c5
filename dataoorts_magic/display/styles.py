"""The one place for the colours and small inline styles of our own lines: footers, totals, errors.

Every display (an answer's footer, a batch's totals, a comparison's failed column, the panel's
error line, a table's note) takes its style from here, so a change of colour lands everywhere
at once. Inline styles, not classes: a front end may strip ``<style>`` from an untrusted
notebook, and these lines must stay readable then.
"""

from __future__ import annotations

import html

FOOTER = "color:#666;font-size:85%"  # a grey, smaller line under an answer, a table or a batch
ERROR = "color:#b00020"  # one red for every error line and failed item


def footer_html(text: str, css_class: str = "dataoorts-footer", extra: str = "") -> str:
    """``text`` (escaped) as a footer line: ``<div class=... style=FOOTER>``; ``extra`` adds CSS."""
    style = FOOTER + (f";{extra}" if extra else "")
    return f'<div class="{css_class}" style="{style}">{html.escape(text)}</div>'


def error_html(text: str, tag: str = "div", css_class: str = "dataoorts-error") -> str:
    """``text`` (escaped) in the error colour, in a ``<div>`` or a ``<span>``."""
    return f'<{tag} class="{css_class}" style="{ERROR}">{html.escape(text)}</{tag}>'
