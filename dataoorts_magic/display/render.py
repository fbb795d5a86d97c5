"""Turn the model's untrusted Markdown into sanitized HTML that is safe to show in Jupyter.

JupyterLab does not sanitize outputs of the running session, and trusts the outputs of a
notebook it saved, so what we display must be safe by itself (INTERFACE.md section 7):

- ``to_html``: Markdown read as a Jupyter Markdown cell reads it (CommonMark with GitHub's
  tables, strikethrough, task lists and bare-URL links: markdown-it-py), math kept as TeX for
  MathJax (``tex_html``), code highlighted in the theme's colours (``highlight``), then an nh3
  allow-list. Raw HTML in the model's text is *escaped* (markdown-it's ``html`` option is off,
  so ``<b>hi</b>`` stays visible as typed).
- ``code_html``, ``escape_text``: one highlighted code block, and plain text for a ``<pre>``,
  for ``--format code|text``.

The ``text/markdown`` part of the bundle is ``safe_markdown``'s job; pulling code or JSON out
of an answer is ``answer_parts``'s. Heavy imports (markdown-it, nh3, pygments) happen on first
use; the one parser and the one sanitizer are kept in module globals. markdown-it's linkify
keeps state between two calls, so the parser is used by one thread at a time (the panel and
``--over`` render from worker threads).
"""

from __future__ import annotations

import re
import threading
from html import escape

from . import highlight
from .defang import defang, has_script_url
from .fences import lang, normalize

URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
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
        "s",  # ~~strikethrough~~ (markdown-it writes <s>)
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
    "ol": {"start"},  # a list keeps its first number
    "pre": {"tabindex"},  # our code block takes the keyboard focus, to scroll (highlight.block); the model's
    # raw HTML never reaches here as markup (it is escaped), so only our own <pre> carries it
}
MATH_CLASS = "math"  # <span class="math"> / <div class="math">: a formula for MathJax (``tex_html``)

_lock = threading.Lock()  # one parser, used by one thread at a time
_markdown = None
_cleaner = None

_IMAGE_URL = re.compile(r"(?i)https?:")  # nh3 lets mailto: through for links; an image needs the web
_TAG_OR_TEXT = re.compile(r'<(/?)([a-zA-Z0-9]+)(?:[^>"]|"[^"]*")*>|[^<]+|<')
_TASK = re.compile(r"\bchecked\b")
_MAYBE_LINK = re.compile(r"(?i)www\.|mailto:")
_WWW = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:[/?#][^\s<>]*[^\s<>.,;:!?'\")\]*_~])?", re.IGNORECASE)


def escape_text(text) -> str:
    """HTML-escape plain text (``&``, ``<``, ``>``, quotes), for ``--format text`` shown in a ``<pre>``."""
    return escape(str(text))


def _link_pretest(pretest):
    """linkify's first look, behind a cheaper one: what we link holds "://", "www.", "@" or "mailto:" (its
    own pretest is one large regex, a millisecond per answer)."""

    def cheap(text: str) -> bool:
        return ("://" in text or "@" in text or _MAYBE_LINK.search(text) is not None) and pretest(text)

    return cheap


def _www_links(state) -> None:
    """A bare ``www.`` link goes to http:// (linkify keeps it relative, which the sanitizer would drop)."""
    for block in state.tokens:
        for token in block.children or ():
            if token.type == "link_open" and token.markup == "linkify" and token.attrGet("href").startswith("www."):
                token.attrSet("href", "http://" + token.attrGet("href"))


def _image(self, tokens, idx, options, env) -> str:
    """An image loads only from an http/https URL; any other keeps its alt text."""
    token = tokens[idx]
    if not _IMAGE_URL.match(token.attrGet("src") or ""):
        token.attrs.pop("src", None)
    return self.image(tokens, idx, options, env)


def _fence(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    return highlight.block(token.content, lang(token.info) or None, env["css"])


def _task_box(self, tokens, idx, options, env) -> str:
    """A task list's checkbox as a character (the only raw HTML markdown-it makes with ``html`` off)."""
    return "☑" if _TASK.search(tokens[idx].content) else "☐"


def _cell(self, tokens, idx, options, env) -> str:
    """A table cell with its alignment as an attribute (markdown-it writes an inline style, which we never allow)."""
    token = tokens[idx]
    env["css"].add("table")
    align = (token.attrGet("style") or "").rpartition(":")[2].strip()
    return f'<{token.tag} align="{align}">' if align in ("left", "center", "right") else f"<{token.tag}>"


def _build() -> None:
    """Build (once) the parser and the sanitizer."""
    global _markdown, _cleaner
    import nh3
    from markdown_it import MarkdownIt
    from mdit_py_plugins.tasklists import tasklists_plugin

    from . import tex_html

    md = MarkdownIt("commonmark", {"html": False, "linkify": True})
    md.enable(["table", "strikethrough", "linkify"])
    # bare URLs as GitHub links them (a scheme, or www.), not every file name: setup.py, notes.md
    md.linkify.set({"fuzzy_link": False}).add("www.", {"validate": _WWW})
    md.linkify.pretest = _link_pretest(md.linkify.pretest)
    md.core.ruler.after("linkify", "www_links", _www_links)
    md.use(tasklists_plugin)
    tex_html.use(md)
    md.add_render_rule("fence", _fence)
    md.add_render_rule("code_block", _fence)
    md.add_render_rule("image", _image)
    md.add_render_rule("html_inline", _task_box)
    md.add_render_rule("th_open", _cell)
    md.add_render_rule("td_open", _cell)
    _cleaner = nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        url_relative="deny",  # no relative or protocol-relative URL: they would reach the notebook server
        link_rel=LINK_REL,
        strip_comments=True,
        allowed_classes={"div": {"codehilite", MATH_CLASS}, "span": set(highlight.token_classes()) | {MATH_CLASS}},
    )
    _markdown = md


def warm() -> None:
    """Build the parser and the sanitizer now (imports included: ~0.1 s once per process), not in the first render."""
    if _markdown is None:
        with _lock:
            if _markdown is None:
                _build()


def _finish(html: str, css=()) -> str:
    """Sanitize, defang text nodes outside code (MathJax typesets text/html too), add our div and the
    stylesheet of what it holds (``highlight.stylesheet``: none without code or a table)."""
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
    return f'{highlight.stylesheet(css)}<div class="dataoorts-answer">{html}</div>'


def to_html(text: str) -> str:
    """Markdown -> sanitized HTML inside ``<div class="dataoorts-answer">``, after a ``<style>`` of
    ours when it has code or a table.

    Raw HTML in ``text`` is escaped (shown as typed); links keep only http/https/mailto,
    images only http/https; math is kept as TeX for MathJax. Safe to call from several threads.
    """
    warm()
    env = {"css": set()}
    text = normalize(text)
    with _lock:
        try:
            body = _markdown.render(text, env).rstrip("\n")
        except Exception:  # a renderer bug must not lose the answer: show it verbatim
            body = f"<pre>{escape_text(text)}</pre>"
    return _finish(body, env["css"])


def code_html(code: str, language: str | None) -> str:
    """Highlighted HTML for one code block (plain text if the language is unknown), wrapped like ``to_html``."""
    warm()
    css = set()
    with _lock:  # the one Pygments formatter too
        body = highlight.block(normalize(code), language, css)
    return _finish(body, css)
