"""Turn the model's untrusted Markdown into sanitized HTML that is safe to show in Jupyter.

JupyterLab does not sanitize outputs of the running session, and trusts the outputs of a
notebook it saved, so what we display must be safe by itself (INTERFACE.md section 7):

- ``to_html``: Markdown -> HTML with highlighted code, then an nh3 allow-list. Raw HTML in
  the model's text is *escaped* (shown literally, ``<b>hi</b>`` stays visible as typed):
  Python-Markdown's raw-HTML handlers are switched off, so it treats ``<`` as text.
- ``code_html``, ``escape_text``: one highlighted code block, and plain text for a ``<pre>``,
  for ``--format code|text``.

The ``text/markdown`` part of the bundle is ``safe_markdown``'s job; pulling code or JSON out
of an answer is ``answer_parts``'s. Heavy imports (markdown, nh3, pygments) happen on first
use; the built converter, sanitizer and style block are kept in module globals.
"""

from __future__ import annotations

import re
import threading

from .defang import defang, has_script_url
from .fences import lang, normalize

EXTENSIONS = ("tables", "fenced_code", "codehilite", "sane_lists")
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
CSS_SCOPE = ".dataoorts-answer .codehilite"
ALLOWED_TAGS = frozenset(
    {
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "br",
        "hr",
        "em",
        "strong",
        "del",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "a",
        "img",
        "span",
        "div",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},  # sane_lists keeps a list's first number
}

_lock = threading.Lock()  # one Markdown instance, used by one thread at a time
_markdown = None
_cleaner = None
_style = None
_formatter = None

_SAFE_URL = {"a": re.compile(r"(?i)(?:https?|mailto):"), "img": re.compile(r"(?i)https?:")}
_BRACE_INFO = re.compile(r"(?m)^(`{3,}|~{3,})[ \t]*(\{[^\n]*)$")  # ```{.py style=...} crashes codehilite
_TAG_OR_TEXT = re.compile(r'<(/?)([a-zA-Z0-9]+)(?:[^>"]|"[^"]*")*>|[^<]+|<')


def escape_text(text) -> str:
    """HTML-escape plain text (``&``, ``<``, ``>``, quotes), for ``--format text`` shown in a ``<pre>``."""
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )


def _url_filter(tag: str, attr: str, value: str):
    """nh3 hook: an href/src must be an absolute URL of an allowed scheme (no relative, no data:)."""
    if attr in ("href", "src"):
        ok = _SAFE_URL.get(tag)
        return value if ok is not None and ok.match(value) else None
    return value


def _build():
    """Build (once) the Markdown converter, the sanitizer and our style block."""
    global _markdown, _cleaner, _style
    import markdown
    import nh3
    from pygments.formatters import HtmlFormatter
    from pygments.token import STANDARD_TYPES

    md = markdown.Markdown(
        extensions=list(EXTENSIONS),
        output_format="html",
        extension_configs={
            "codehilite": {"guess_lang": False, "css_class": "codehilite", "noclasses": False},
            "tables": {"use_align_attribute": True},
        },
    )
    md.preprocessors.deregister("html_block")  # raw HTML stays text, so it is escaped, never live
    md.inlinePatterns.deregister("html")
    token_classes = {c for c in STANDARD_TYPES.values() if c}
    _cleaner = nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        allowed_classes={"div": {"codehilite"}, "span": token_classes},
        attribute_filter=_url_filter,
    )
    # only the rules scoped under our class: Pygments' bare `pre {...}` would restyle the whole page
    rules = [r for r in HtmlFormatter().get_style_defs(CSS_SCOPE).splitlines() if r.startswith(CSS_SCOPE)]
    _style = f"<style>\n{CSS_SCOPE} pre {{ line-height: 125%; }}\n" + "\n".join(rules) + "\n</style>"
    _markdown = md


def _finish(html: str) -> str:
    """Sanitize, defang text nodes outside code (MathJax typesets text/html too), add our style and div."""
    html = _cleaner.clean(html)
    if has_script_url(html):
        parts, depth = [], 0
        for m in _TAG_OR_TEXT.finditer(html):
            if m[2]:
                if m[2] in ("pre", "code"):
                    depth += -1 if m[1] else 1
                parts.append(m[0])
            else:
                parts.append(m[0] if depth > 0 else defang(m[0]))
        html = "".join(parts)
    return f'{_style}<div class="dataoorts-answer">{html}</div>'


def to_html(text: str) -> str:
    """Markdown -> sanitized HTML inside ``<div class="dataoorts-answer">``, after one ``<style>`` of ours.

    Raw HTML in ``text`` is escaped (shown as typed); links keep only http/https/mailto,
    images only http/https; code blocks are highlighted with Pygments CSS classes.
    Safe to call from several threads.
    """
    if _markdown is None:
        with _lock:
            if _markdown is None:
                _build()
    text = _BRACE_INFO.sub(lambda m: m[1] + lang(m[2]), normalize(text))  # fence options: language only
    with _lock:
        try:
            body = _markdown.convert(text)
        except Exception:  # a renderer bug must not lose the answer: show it verbatim
            body = f"<pre>{escape_text(text)}</pre>"
        finally:
            _markdown.reset()
    return _finish(body)


def code_html(code: str, language: str | None) -> str:
    """Highlighted HTML for one code block (text lexer if the language is unknown), wrapped like ``to_html``."""
    global _formatter
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.lexers.special import TextLexer
    from pygments.util import ClassNotFound

    if _markdown is None:
        with _lock:
            if _markdown is None:
                _build()
    if _formatter is None:
        _formatter = HtmlFormatter(cssclass="codehilite", wrapcode=True)
    try:
        lexer = get_lexer_by_name(language.strip()) if language and language.strip() else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    return _finish(highlight(normalize(code), lexer, _formatter))
