"""The hostile inputs and the HTML audit shared by test_render.py and test_safe_markdown.py.

The model's text is untrusted. Every payload of the corpus goes through ``to_html`` (checked
against our allow-list) and through ``to_safe_markdown`` rendered the way JupyterLab renders
Markdown (raw HTML passes), by Python-Markdown and by mistune. Outputs are parsed with
html.parser, so tags and attributes are checked as a browser would see them.
"""

from __future__ import annotations

import random
import re
from html.parser import HTMLParser

import markdown
import mistune

XSS = {
    "script": "<script>alert(1)</script>",
    "script_mixed_case": "<ScRiPt>alert(1)</sCrIpT>",
    "script_split_by_nul": "<scr\0ipt>alert(1)</script>",
    "img_onerror": "<img src=x onerror=alert(1)>",
    "img_onerror_unclosed": "text <img src=x onerror=alert(1)//",
    "svg_onload": "<svg onload=alert(1)>",
    "svg_script": "<svg><script>alert(1)</script></svg>",
    "iframe": '<iframe src="javascript:alert(1)"></iframe>',
    "object": '<object data="javascript:alert(1)"></object>',
    "embed": '<embed src="javascript:alert(1)">',
    "style": "<style>body{display:none}</style>",
    "link": '<link rel="stylesheet" href="javascript:alert(1)">',
    "meta_refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "a_javascript": '<a href="javascript:alert(1)">x</a>',
    "a_entity_javascript": '<a href="javascript&#58;alert(1)">x</a>',
    "a_entity_tab": '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "a_data": '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "md_javascript": "[x](javascript:alert(1))",
    "md_javascript_mixed_case": "[x](JaVaScRiPt:alert(1))",
    "md_javascript_entity": "[x](javascript&#58;alert(1))",
    "md_javascript_entity_letter": "[x](&#106;avascript:alert(1))",
    "md_javascript_backslash_colon": "[x](javascript\\:alert(1))",
    "md_javascript_pointy": "[x](<javascript:alert(1)>)",
    "md_vbscript": "[x](vbscript:msgbox(1))",
    "md_reference_javascript": "[x][r]\n\n[r]: javascript:alert(1)",
    "md_autolink_javascript": "<javascript:alert(1)>",
    "md_image_data_svg": "![x](data:image/svg+xml,<svg onload=alert(1)>)",
    "md_image_data_base64": "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "details_ontoggle": "<details open ontoggle=alert(1)>x</details>",
    "body_onload": "<body onload=alert(1)>",
    "form_action": '<form action="javascript:alert(1)"><input type="submit"></form>',
    "math_mxss": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "table_cell_onerror": "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | ok |",
    "fenced_code": "```html\n<script>alert(1)</script>\n```",
    "fenced_code_unclosed": "Look:\n```\n<img src=x onerror=alert(1)>",
    "tilde_fence_with_backticks": "~~~\n```\n<script>alert(1)</script>\n~~~",
    "inline_code": "Use `<img src=x onerror=alert(1)>` here.",
    "inline_code_in_table": "| a |\n|---|\n| `x | <img src=x onerror=alert(1)>` |",
    "link_title_tag": '[x](https://example.com "<img src=x onerror=alert(1)>")',
    "link_title_breakout": '[x](https://example.com "\\" onmouseover=\\"alert(1)")',
    "div_style_overlay": '<div style="position:fixed;top:0;left:0;width:100%;height:100%">gotcha</div>',
    "template_string": "{{constructor.constructor('alert(1)')()}}",
    "html_comment": "<!--<img src=x onerror=alert(1)>-->",
    "backslash_lt": "\\<script>alert(1)\\</script>",
    "entities_already": "&lt;script&gt;alert(1)&lt;/script&gt;",
    "autolink_attribute_trick": "<http://x/onmouseover=alert(1)//>",
    "mathjax_href": "$\\href{javascript:alert(1)}{x}$",
    "backtick_in_link_destination": "[a](b`)<img src=x onerror=alert(1)>[c](javascript:alert(1))`",
    # fences whose place depends on their container: the Markdown must not disagree with any renderer
    "fence_in_list_blank_line": "- a\n  ```\n  <img src=x onerror=alert(1)>\n\n  x\n  ```",
    "fence_closed_by_list_end": "- item\n  ```\n<img src=x onerror=alert(1)>\n  ```",
    "fence_deep_then_shallow_closer": "1. a\n    ```\n    x\n   ```\n<img src=x onerror=alert(1)>",
    "fence_on_list_marker_line": "1. ```js\n   x\n   ```\n<img src=x onerror=alert(1)>",
    "fence_paragraph_continuation": "- a\n  text\n      ```\n      <img src=x onerror=alert(1)>\n\n      ```",
    "fence_in_blockquote": "> ```\n> <script>alert(1)</script>\n> ```\n<img src=x onerror=alert(1)>",
    "fence_info_attributes": '```{.python onclick="alert(1)" style="color:red"}\nx = 1\n```',
    "fence_info_script": "```<script>alert(1)</script>\nx\n```",
    "fence_tab_indent": "\t```\n<img src=x onerror=alert(1)>\n```\n<img src=x onerror=alert(1)>",
}
SHOWN_LITERALLY = [
    "script",
    "img_onerror",
    "svg_onload",
    "iframe",
    "style",
    "details_ontoggle",
    "div_style_overlay",
    "template_string",
    "entities_already",
]
IN_CODE = {
    "fenced_code": "<script>alert(1)</script>",
    "inline_code": "<img src=x onerror=alert(1)>",
    "tilde_fence_with_backticks": "<script>alert(1)</script>",
}

DANGEROUS_TAGS = {
    "script",
    "style",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "link",
    "meta",
    "base",
    "body",
    "html",
    "details",
    "template",
    "noscript",
    "mglyph",
    "mtext",
}
MARKDOWN_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
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
}


class Audit(HTMLParser):
    """Every start tag with its attributes (entities decoded), and the visible text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.code_text: list[str] = []
        self._code = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("pre", "code"):
            self._code += 1

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        if tag in ("pre", "code"):
            self._code -= 1

    def handle_data(self, data):
        self.text.append(data)
        if self._code > 0:
            self.code_text.append(data)


def url_scheme(value: str) -> str:
    """The scheme a browser would see: leading C0/space stripped, tab/CR/LF removed anywhere."""
    value = re.sub(r"[\t\n\r]", "", value).lstrip("".join(map(chr, range(0x21))))
    m = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", value)
    return m[1].lower() if m else ""


def assert_no_live_danger(html: str, allowed_tags: set[str]) -> Audit:
    audit = Audit(html)
    for tag, attrs in audit.tags:
        assert tag not in DANGEROUS_TAGS, (tag, html)
        assert tag in allowed_tags, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, html)
            assert name != "style", (tag, html)
            if name in ("href", "src", "action", "formaction", "data", "xlink:href"):
                assert url_scheme(value) not in {"javascript", "vbscript", "data", "livescript"}, (tag, value)
    assert not re.search(r"<\s*script", html, re.I)
    for tag in re.findall(r"""<[a-zA-Z](?:[^>"']|"[^"]*"|'[^']*')*>""", html):  # a second look, by text
        assert not re.search(r"[\s/]on[a-z]+\s*=", re.sub(r""""[^"]*"|'[^']*'""", '""', tag), re.I), tag
    return audit


def strip_wrapper(html: str) -> str:
    """The answer's body: our ``<div>`` without the one ``<style>`` of ours before it (only answers with
    code or a table have one)."""
    style_end = html.index("</style>") + len("</style>") if html.startswith("<style>") else 0
    assert html[:style_end].count("<style>") == (1 if style_end else 0)
    body = html[style_end:]
    assert body.startswith('<div class="dataoorts-answer">') and body.endswith("</div>")
    assert "<style" not in body
    return body


def python_markdown(text: str) -> str:
    """Markdown as a notebook front end renders it: no sanitizer, raw HTML passes through."""
    return markdown.markdown(text, extensions=["tables", "fenced_code"])


mistune_markdown = mistune.create_markdown(escape=False, plugins=["table", "strikethrough", "url"])


def commonmark_markdown(text: str) -> str:
    """Markdown as a CommonMark + GFM reader with raw HTML on renders it (markdown-it-py, as JupyterLab's
    marked reads it): a bare CR ends a line, and bare URLs (ftp:// too) become links."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True, "linkify": True}).enable(["table", "linkify"]).render(text)


def separator_markdown(text: str) -> str:
    """The CommonMark reader, ending a line at U+2028 and U+2029 as well (as a JavaScript regex may)."""
    return commonmark_markdown(text.replace("\u2028", "\n").replace("\u2029", "\n"))


MARKDOWN_READERS = {
    "python-markdown": python_markdown,
    "mistune": mistune_markdown,
    "commonmark": commonmark_markdown,
    "line-separators": separator_markdown,
}

NORMAL = """# Sorting in Python

Python has two ways to sort:

- `sorted(xs)` returns a new list
- `xs.sort()` sorts in place

| function | returns | in place |
|:---------|:-------:|---------:|
| sorted   | list    | no       |
| sort     | None    | yes      |

```python
def top(xs, n=3):
    return sorted(xs, reverse=True)[:n]
```

1. First step
2. Second step

> Note: both are stable.
"""

FUZZ_PIECES = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "`",
    "``",
    "```",
    "~~~",
    "<b>",
    "[r]: javascript:alert(1)",
    "[r]",
    "&#106;avascript:alert(1)",
    "|",
    "\\",
    "text",
    "<http://x/onmouseover=alert(1)//>",
    "*",
    "(",
    ")",
    "]",
    "<!--",
    "<pre>",
    "</pre>",
    "$",
]
FUZZ_PREFIXES = [
    "",
    "",
    "",
    " ",
    "  ",
    "   ",
    "    ",
    "      ",
    "\t",
    "> ",
    "> > ",
    "- ",
    "1. ",
    "2) ",
    "  - ",
    "   1. ",
    "- > ",
    "    - ",
]
FUZZ_FENCES = ["```", "~~~", "````", "```python", "```js x", "``` `x`"]


def fuzz_documents(seed: int, count: int):
    """Random mixes of containers, fences, blank lines and payloads: the cases where a fence's extent
    depends on the renderer, which is where a safe-Markdown escaper can go wrong."""
    rng = random.Random(seed)

    def line():
        r, prefix = rng.random(), rng.choice(FUZZ_PREFIXES)
        if r < 0.25:
            return prefix + rng.choice(FUZZ_FENCES)
        if r < 0.32:
            return ""
        if r < 0.36:
            return prefix + rng.choice(["| a | b |", "|---|---|"])
        return prefix + " ".join(rng.choice(FUZZ_PIECES) for _ in range(rng.randint(1, 4)))

    return ["\n".join(line() for _ in range(rng.randint(1, 12))) for _ in range(count)]
