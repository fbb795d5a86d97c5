"""Turn the model's untrusted Markdown into output that is safe to show in Jupyter.

JupyterLab does not sanitize outputs of the running session, and trusts the outputs of a
notebook it saved, so what we display must be safe by itself (INTERFACE.md section 7):

- ``to_html``: Markdown -> HTML with highlighted code, then an nh3 allow-list. Raw HTML in
  the model's text is *escaped* (shown literally, ``<b>hi</b>`` stays visible as typed):
  Python-Markdown's raw-HTML handlers are switched off, so it treats ``<`` as text.
- ``to_safe_markdown``: the ``text/markdown`` part of the bundle. Every ``<``, ``>``
  and ``&`` outside code is escaped; fenced code is kept (re-fenced so that every
  CommonMark renderer sees the same block); inline code that holds ``<``/``>``/``&``
  becomes our own ``<code>`` with entity-encoded text; ``javascript:``, ``vbscript:`` and
  ``data:`` URLs are broken with an invisible U+2060 so no link or image can use them.
- ``code_html``, ``first_code_block``, ``parse_json_answer``, ``escape_text``: helpers
  for ``--format code|json|text``.

Heavy imports (markdown, nh3, pygments) happen on first use; the built converter,
sanitizer and style block are kept in module globals.
"""
from __future__ import annotations

import re
import threading

EXTENSIONS = ("tables", "fenced_code", "codehilite", "sane_lists")
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
CSS_SCOPE = ".dataoorts-answer .codehilite"
ALLOWED_TAGS = frozenset({
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "em", "strong", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "a", "img",
    "span", "div",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"},
    "ol": {"start"},  # sane_lists keeps a list's first number
}

_lock = threading.Lock()  # one Markdown instance, used by one thread at a time
_markdown = None
_cleaner = None
_style = None
_formatter = None

_WJ = "\u2060"  # WORD JOINER: invisible, and never part of a URL scheme
_DANGER = re.compile(  # scheme names a link, image or MathJax \href could run; tolerant of CR/LF/TAB
    r"(?i)(?:j[\t\n\r]*a[\t\n\r]*v[\t\n\r]*a|v[\t\n\r]*b|l[\t\n\r]*i[\t\n\r]*v[\t\n\r]*e)"
    r"[\t\n\r]*s[\t\n\r]*c[\t\n\r]*r[\t\n\r]*i[\t\n\r]*p[\t\n\r]*t[\t\n\r]*\\?:"
    r"|d[\t\n\r]*a[\t\n\r]*t[\t\n\r]*a[\t\n\r]*\\?:(?=\S)")
_DANGER_HINT = re.compile(r"(?i)[ta][\t\n\r]*\\?:")  # cheap first look: those schemes end in t or a
_SAFE_URL = {"a": re.compile(r"(?i)(?:https?|mailto):"), "img": re.compile(r"(?i)https?:")}
_HTML_ESC = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_SPECIAL = re.compile(r"[\\`<>&]")
_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_TICKS = re.compile(r"`+")
# a fence opener possibly behind container markers (spaces, tabs, '>', list bullets or numbers)
_FENCE = re.compile(r"^(?P<prefix>(?:[ \t]|>|(?:[-+*]|\d{1,9}[.)])(?=[ \t]|$))*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_PREFIX = re.compile(r"(?:[ \t]|>|(?:[-+*]|\d{1,9}[.)])(?=[ \t]|$))*")
_CLOSE = re.compile(r"^(?P<ws>[ \t]*)(?P<run>`{3,}|~{3,})[ \t]*$")
_LANG = re.compile(r"[\w#.+-]+")
_ENTITYISH = re.compile(r"#|\w+;")  # what follows '&' in an entity (browsers take &#58 without ';')
_AUTOLINK = re.compile(r"<((?i:https?|mailto):[^\s<>\x00-\x1f]*|[\w.!#$%&'*+/=?^`{|}~-]+@[A-Za-z0-9.-]+)>")
_BRACE_INFO = re.compile(r"(?m)^(`{3,}|~{3,})[ \t]*(\{[^\n]*)$")  # ```{.py style=...} crashes codehilite
_TAG_OR_TEXT = re.compile(r'<(/?)([a-zA-Z0-9]+)(?:[^>"]|"[^"]*")*>|[^<]+|<')


def _normalize(text) -> str:
    return str(text).replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")


def _defang(text: str) -> str:
    """Break every javascript:/vbscript:/data: scheme with an invisible U+2060 after its first letter."""
    if not _DANGER_HINT.search(text):
        return text
    return _DANGER.sub(lambda m: m[0][0] + _WJ + m[0][1:], text)


def escape_text(text) -> str:
    """HTML-escape plain text (``&``, ``<``, ``>``, quotes), for ``--format text`` shown in a ``<pre>``."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#x27;"))


# ---------------------------------------------------------------- HTML


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

    md = markdown.Markdown(extensions=list(EXTENSIONS), output_format="html", extension_configs={
        "codehilite": {"guess_lang": False, "css_class": "codehilite", "noclasses": False},
        "tables": {"use_align_attribute": True}})
    md.preprocessors.deregister("html_block")  # raw HTML stays text, so it is escaped, never live
    md.inlinePatterns.deregister("html")
    token_classes = {c for c in STANDARD_TYPES.values() if c}
    _cleaner = nh3.Cleaner(
        tags=set(ALLOWED_TAGS), clean_content_tags={"script", "style"},
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES), link_rel=LINK_REL, strip_comments=True,
        allowed_classes={"div": {"codehilite"}, "span": token_classes}, attribute_filter=_url_filter)
    # only the rules scoped under our class: Pygments' bare `pre {...}` would restyle the whole page
    rules = [r for r in HtmlFormatter().get_style_defs(CSS_SCOPE).splitlines() if r.startswith(CSS_SCOPE)]
    _style = f"<style>\n{CSS_SCOPE} pre {{ line-height: 125%; }}\n" + "\n".join(rules) + "\n</style>"
    _markdown = md


def _finish(html: str) -> str:
    """Sanitize, defang text nodes outside code (MathJax typesets text/html too), add our style and div."""
    html = _cleaner.clean(html)
    if _DANGER_HINT.search(html) and _DANGER.search(html):
        parts, depth = [], 0
        for m in _TAG_OR_TEXT.finditer(html):
            if m[2]:
                if m[2] in ("pre", "code"):
                    depth += -1 if m[1] else 1
                parts.append(m[0])
            else:
                parts.append(m[0] if depth > 0 else _defang(m[0]))
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
    text = _BRACE_INFO.sub(lambda m: m[1] + _lang(m[2]), _normalize(text))  # fence options: language only
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
    return _finish(highlight(_normalize(code), lexer, _formatter))


# ---------------------------------------------------------------- code blocks and JSON


def _width(ws: str) -> int:
    """Columns taken by leading spaces/tabs (tab stops of 4, as CommonMark counts them)."""
    col = 0
    for ch in ws:
        col = col + 4 - col % 4 if ch == "\t" else col + 1
    return col


def _opens(m) -> bool:
    """A backtick fence's info string may not contain a backtick (else it is inline code)."""
    return m is not None and (m["fence"][0] == "~" or "`" not in m["info"])


def _closes(line: str, fence: str, max_width: int) -> bool:
    m = _CLOSE.match(line)
    return bool(m and m["run"][0] == fence[0] and len(m["run"]) >= len(fence) and _width(m["ws"]) <= max_width)


def _dedent(line: str, k: int) -> str:
    """``line`` without its first ``k`` columns of indentation (tabs counted to stops of 4)."""
    rest = line.lstrip(" \t")
    return (" " * _width(line[:len(line) - len(rest)]) + rest)[k:]


def _lang(info: str) -> str:
    m = _LANG.match(info.strip().lstrip("{.").strip())
    return m[0] if m else ""


def _fenced_blocks(text: str):
    """Yield (language or None, source) of each fenced block; lenient about indentation, unclosed runs to the end."""
    lines = _normalize(text).split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if _opens(m) and not m["prefix"].strip(" \t"):
            k, body = _width(m["prefix"]), []
            i += 1
            while i < len(lines) and not _closes(lines[i], m["fence"], 10**6):
                line = lines[i]
                strip = min(k, len(line) - len(line.lstrip(" ")))
                body.append(line[strip:])
                i += 1
            yield _lang(m["info"]) or None, "\n".join(body)
        i += 1


def first_code_block(text: str) -> tuple[str | None, str] | None:
    """(language or None, source) of the first fenced code block (``` or ~~~) in ``text``, or None."""
    return next(_fenced_blocks(text), None)


def parse_json_answer(text: str):
    """The answer parsed as JSON: the whole text, else a fenced block (```json first), else a JSON value
    that starts a line and ends one. Raises ValueError with a one-line reason and fix."""
    import json

    text = _normalize(text)
    if not text.strip():
        raise ValueError("The answer is empty, so it is not JSON. Ask again, or ask for JSON only.")
    blocks = list(_fenced_blocks(text))
    tagged = [src for lang, src in blocks if lang and lang.lower() in ("json", "jsonc", "json5")]
    errors = []
    for candidate in [text] + tagged + [src for lang, src in blocks if src not in tagged]:
        try:
            return json.loads(candidate)
        except ValueError as exc:
            errors.append(exc)
    error = errors[1] if tagged else errors[0]  # a ```json block's own error says most
    decoder = json.JSONDecoder()
    for m in re.finditer(r"(?m)^[ \t]*([\[{])", text):
        try:
            value, end = decoder.raw_decode(text, m.start(1))
        except ValueError:
            continue
        if text[end:].split("\n", 1)[0].strip() == "":
            return value
    raise ValueError(f"The answer is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}). "
                     "Ask for JSON only (e.g. -s \"Reply with JSON only.\"), or look at it with -f text.")


# ---------------------------------------------------------------- safe Markdown


def _encode(text: str) -> str:
    """Every character but letters, digits and spaces as a numeric entity: inert as Markdown and as HTML."""
    return "".join(c if c.isalnum() or c == " " else f"&#{ord(c)};" for c in text)


def _code_span(ticks: str, content: str) -> str:
    """Inline code: kept as typed, unless it holds < > & (then our own <code> around encoded text)."""
    if not any(c in content for c in "<>&"):
        return ticks + content + ticks
    if len(content) > 2 and content[0] == content[-1] == " " and content.strip():
        content = content[1:-1]
    return f"<code>{_encode(content)}</code>"


def _amp(s: str, after: int) -> str:
    """``&`` as text; before something entity-like also a U+2060, so no renderer that decodes twice
    (mistune does, in link targets) can turn ``&amp;#58;`` into ``:``."""
    return "&amp;" + (_WJ if _ENTITYISH.match(s, after) else "")


def _autolink(m) -> str:
    """``<https://x>`` / ``<a@b.org>`` as an ordinary link, so no raw ``<`` of the model's is left."""
    url = m[1] if ":" in m[1].split("@")[0] else "mailto:" + m[1]
    target = url.replace("\\", "%5C").replace("(", "%28").replace(")", "%29").replace("&", "&amp;")
    return f"[{_encode(m[1])}]({target})"


def _inline(s: str) -> str:
    """Escape one line's text outside code spans; code spans per ``_code_span``; backslash escapes kept."""
    out, i, n = [], 0, len(s)
    while i < n:
        m = _SPECIAL.search(s, i)
        if m is None:
            out.append(s[i:])
            break
        j = m.start()
        out.append(s[i:j])
        c = s[j]
        if c == "\\":  # a backslash escape: keep it, except before < > & (then the entity shows the char)
            nxt = s[j + 1:j + 2]
            if nxt in _HTML_ESC:
                out.append(_amp(s, j + 2) if nxt == "&" else _HTML_ESC[nxt])
            else:
                out.append(s[j:j + 2] if nxt in _PUNCT else "\\")
            i = j + (2 if nxt in _PUNCT else 1)
        elif c == "`":
            run = _TICKS.match(s, j)[0]
            close = next((t for t in _TICKS.finditer(s, j + len(run)) if len(t[0]) == len(run)), None)
            if close is None:
                out.append(run)
                i = j + len(run)
            else:
                out.append(_code_span(run, s[j + len(run):close.start()]))
                i = close.end()
        elif c == "<" and (link := _AUTOLINK.match(s, j)):
            out.append(_autolink(link))
            i = link.end()
        else:
            out.append(_amp(s, j + 1) if c == "&" else _HTML_ESC[c])
            i = j + 1
    return "".join(out)


def _text_lines(lines: list[str]) -> list[str]:
    """Lines outside trusted fences: defang URLs (across line breaks too), escape, neutralise stray fences."""
    if not lines:
        return []
    out = []
    for line in _defang("\n".join(lines)).split("\n"):
        m = _FENCE.match(line)
        if _opens(m):  # a fence we could not place for sure: make it no fence in any renderer
            p = len(m["prefix"])
            out.append(m["prefix"] + ("&#96;" if line[p] == "`" else "&#126;") + _inline(line[p + 1:]))
        else:
            p = _PREFIX.match(line).end()
            out.append(line[:p] + _inline(line[p:]))
    return out


def _fence_block(k: int, info: str, body: list[str]) -> list[str]:
    """Re-fence one code block so every renderer sees it whole: backticks longer than any run inside,
    the closer at the opener's indent, content lines indented at least as far as the opener.

    Python-Markdown knows no indented fences; an indented block holding ``<`` or a script URL
    becomes our own ``<pre><code>`` with encoded text instead, inert wherever it lands."""
    pad, code = " " * k, "\n".join(body)
    lines = []
    for line in body:
        stripped = line.lstrip(" \t")
        lines.append(pad + stripped if stripped and _width(line[:len(line) - len(stripped)]) < k else line)
    if k and ("<" in code or _defang(code) != code):
        lang = _lang(info)
        rows = [pad + _encode(_dedent(line, k)) if line.strip() else "" for line in lines] or [pad]
        rows[0] = pad + (f'<pre><code class="language-{lang}">' if lang else "<pre><code>") + rows[0][k:]
        rows[-1] = (rows[-1] or pad) + "</code></pre>"
        return rows
    ticks = "`" * max(3, 1 + max((len(t) for t in _TICKS.findall(code)), default=0))
    return [pad + ticks + _lang(info)] + lines + [pad + ticks]


def to_safe_markdown(text: str) -> str:
    """The ``text/markdown`` for the bundle: no live raw HTML and no script/data URLs in any CommonMark renderer.

    A fence is kept as code only where its place is certain: indented by spaces only, at
    most 3 (any container accepts that as a fence), or more right after a blank line (then
    it is a fence or an indented code block, code either way). Other fence lines get their
    first backtick as ``&#96;`` and their content is escaped like prose.
    """
    lines = _normalize(text).split("\n")
    out, pending, prev_blank, i = [], [], True, 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        prefix = m["prefix"] if m else ""
        if _opens(m) and not prefix.strip(" ") and (len(prefix) <= 3 or prev_blank):
            out += _text_lines(pending)
            pending, k, j = [], len(prefix), i + 1
            while j < len(lines) and not _closes(lines[j], m["fence"], k + 3):
                j += 1
            out += _fence_block(k, m["info"], lines[i + 1:j])
            i, prev_blank = j + 1, False
            continue
        pending.append(lines[i])
        prev_blank = not lines[i].strip()
        i += 1
    return "\n".join(out + _text_lines(pending))
