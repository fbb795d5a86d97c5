r"""Rewrite the model's Markdown so that it is safe as the ``text/markdown`` part of a bundle.

JupyterLab renders Markdown outputs with raw HTML passing through and does not sanitize the
outputs of the running session, so the text itself must carry nothing live (INTERFACE.md
section 7). Line ends are made LF first (a bare CR, U+2028 and U+2029 end a line in some
renderers). Every ``<``, ``>`` and ``&`` outside code is escaped; fenced code is kept
(re-fenced so that every CommonMark renderer sees the same block); inline code that holds
``<``/``>``/``&`` becomes our own ``<code>`` with entity-encoded text; ``javascript:``,
``vbscript:`` and ``data:`` URLs are broken with an invisible U+2060 so no link or image can use
them, and a link or image to any other scheme but http, https and mailto (``file:``, ``jar:``,
made-up ones) is made plain text by one (so is a bare ``ftp://``, which GFM would link).

Math stays verbatim, as JupyterLab reads it before the Markdown (``tex_spans`` finds it as the
HTML renderer does): inside a formula only a ``<`` that could open a tag becomes ``\lt`` and an
``&`` that could start an entity is escaped; every other ``$`` is written ``\$``, so money is
not taken for math. Pure string work: no Markdown library is imported.
"""

from __future__ import annotations

import re

from .defang import WORD_JOINER, defang
from .fences import CONTAINER_PREFIX, FENCE, closes, lang, line_ends, opens, width
from .tex_spans import segments

_HTML_ESC = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_SPECIAL = re.compile(r"[\\`<>&$]")
_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_TICKS = re.compile(r"`+")
_ENTITYISH = re.compile(r"#|\w+;")  # what follows '&' in an entity (browsers take &#58 without ';')
_MATH_TAG = re.compile(r"<(?=[A-Za-z/!?])")  # a < in a formula that could open a tag or a comment
_MATH_AMP = re.compile(r"&(?=#|\w+;)")
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# a link's or a definition's destination that starts with a scheme; a bare ftp: (GFM links ftp://)
_SCHEME = re.compile(r"(?i)\](?:\(\s*<?|:[ \t]*\n?[ \t]*<?)([a-z][a-z0-9+.-]*)(?=\\?:)")
_FTP = re.compile(r"(?i)(?<![\w.+-])f(?=tp:)")
_AUTOLINK = re.compile(r"<((?i:https?|mailto):[^\s<>\x00-\x1f]*|[\w.!#$%&'*+/=?^`{|}~-]+@[A-Za-z0-9.-]+)>")


def _dedent(line: str, k: int) -> str:
    """``line`` without its first ``k`` columns of indentation (tabs counted to stops of 4)."""
    rest = line.lstrip(" \t")
    return (" " * width(line[: len(line) - len(rest)]) + rest)[k:]


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
    return "&amp;" + (WORD_JOINER if _ENTITYISH.match(s, after) else "")


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
            nxt = s[j + 1 : j + 2]
            if nxt in _HTML_ESC:
                out.append(_amp(s, j + 2) if nxt == "&" else _HTML_ESC[nxt])
            else:
                out.append(s[j : j + 2] if nxt in _PUNCT else "\\")
            i = j + (2 if nxt in _PUNCT else 1)
        elif c == "`":
            run = _TICKS.match(s, j)[0]
            close = next((t for t in _TICKS.finditer(s, j + len(run)) if len(t[0]) == len(run)), None)
            if close is None:
                out.append(run)
                i = j + len(run)
            else:
                out.append(_code_span(run, s[j + len(run) : close.start()]))
                i = close.end()
        elif c == "<" and (link := _AUTOLINK.match(s, j)):
            out.append(_autolink(link))
            i = link.end()
        elif c == "$":  # not math (``tex_spans`` took the formulas): a dollar, never a delimiter
            out.append("\\$")
            i = j + 1
        else:
            out.append(_amp(s, j + 1) if c == "&" else _HTML_ESC[c])
            i = j + 1
    return "".join(out)


def _break_schemes(text: str) -> str:
    """A link, image or definition to a scheme but http/https/mailto is made plain text (a U+2060 between
    ``]`` and ``(`` or ``:``), and a bare ftp: no scheme (a U+2060 inside it). Substring looks first:
    most answers have neither, and the regexes would try every position."""
    if "](" in text or "]:" in text:
        text = _SCHEME.sub(lambda m: m[0] if m[1].lower() in _LINK_SCHEMES else "]" + WORD_JOINER + m[0][1:], text)
    if "tp:" in text.lower():
        text = _FTP.sub(lambda m: m[0] + WORD_JOINER, text)
    return text


def _unfence(line: str, m, rest) -> str:
    """A fence line we could not place for sure, made no fence in any renderer (its first mark as an entity)."""
    p = len(m["prefix"])
    return m["prefix"] + ("&#96;" if line[p] == "`" else "&#126;") + rest(line[p + 1 :])


def _prose(text: str, at_line_start: bool) -> str:
    """Prose: escaped per ``_inline`` after each line's container markers; stray fences neutralised."""
    out = []
    for k, line in enumerate(text.split("\n")):
        if k == 0 and not at_line_start:  # the rest of a line that a formula began
            out.append(_inline(line))
        elif opens(m := FENCE.match(line)):
            out.append(_unfence(line, m, _inline))
        else:
            p = CONTAINER_PREFIX.match(line).end()
            out.append(line[:p] + _inline(line[p:]))
    return "\n".join(out)


def _formula(text: str) -> str:
    """A formula, verbatim but for a ``<`` that could open a tag (``\\lt``) and an ``&`` that could start an
    entity; a line of it that could open a fence is neutralised as in prose."""
    lines = text.split("\n")
    for k in range(1, len(lines)):
        if opens(m := FENCE.match(lines[k])):
            lines[k] = _unfence(lines[k], m, str)
    text = _MATH_TAG.sub(r"\\lt ", "\n".join(lines))
    return _MATH_AMP.sub("&amp;" + WORD_JOINER, text)


def _text_lines(lines: list[str]) -> list[str]:
    """Lines outside trusted fences: URLs defanged and links limited (across line breaks too), formulas
    kept, prose escaped, stray fences neutralised."""
    if not lines:
        return []
    out, at_line_start = [], True
    for kind, piece in segments(_break_schemes(defang("\n".join(lines)))):
        out.append(_formula(piece) if kind == "math" else _prose(piece, at_line_start))
        at_line_start = piece.endswith("\n")
    return "".join(out).split("\n")


def _fence_block(k: int, info: str, body: list[str]) -> list[str]:
    """Re-fence one code block so every renderer sees it whole: backticks longer than any run inside,
    the closer at the opener's indent, content lines indented at least as far as the opener.

    Python-Markdown knows no indented fences; an indented block holding ``<`` or a script URL
    becomes our own ``<pre><code>`` with encoded text instead, inert wherever it lands."""
    pad, code = " " * k, "\n".join(body)
    lines = []
    for line in body:
        stripped = line.lstrip(" \t")
        lines.append(pad + stripped if stripped and width(line[: len(line) - len(stripped)]) < k else line)
    if k and ("<" in code or defang(code) != code):
        language = lang(info)
        rows = [pad + _encode(_dedent(line, k)) if line.strip() else "" for line in lines] or [pad]
        rows[0] = pad + (f'<pre><code class="language-{language}">' if language else "<pre><code>") + rows[0][k:]
        rows[-1] = (rows[-1] or pad) + "</code></pre>"
        return rows
    ticks = "`" * max(3, 1 + max((len(t) for t in _TICKS.findall(code)), default=0))
    return [pad + ticks + lang(info)] + lines + [pad + ticks]


def to_safe_markdown(text: str) -> str:
    """The ``text/markdown`` for the bundle: no live raw HTML and no script/data URLs in any CommonMark renderer.

    A fence is kept as code only where its place is certain: indented by spaces only, at
    most 3 (any container accepts that as a fence), or more right after a blank line (then
    it is a fence or an indented code block, code either way). Other fence lines get their
    first backtick as ``&#96;`` and their content is escaped like prose.
    """
    lines = line_ends(text).split("\n")
    out, pending, prev_blank, i = [], [], True, 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        prefix = m["prefix"] if m else ""
        if opens(m) and not prefix.strip(" ") and (len(prefix) <= 3 or prev_blank):
            out += _text_lines(pending)
            pending, k, j = [], len(prefix), i + 1
            while j < len(lines) and not closes(lines[j], m["fence"], k + 3):
                j += 1
            out += _fence_block(k, m["info"], lines[i + 1 : j])
            i, prev_blank = j + 1, False
            continue
        pending.append(lines[i])
        prev_blank = not lines[i].strip()
        i += 1
    return "\n".join(out + _text_lines(pending))
