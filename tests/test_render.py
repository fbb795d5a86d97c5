"""render.py: sanitized HTML, safe Markdown, code and JSON extraction.

The model's text is untrusted. Every payload of the corpus goes through ``to_html`` (checked
against our allow-list) and through ``to_safe_markdown`` rendered the way JupyterLab renders
Markdown (raw HTML passes), by Python-Markdown and by mistune. Outputs are parsed with
html.parser, so tags and attributes are checked as a browser would see them.
"""
from __future__ import annotations

import random
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser

import markdown
import mistune
import pytest

from dataoorts_magic import render
from dataoorts_magic.render import (
    code_html, escape_text, first_code_block, parse_json_answer, to_html, to_safe_markdown,
)

# ---------------------------------------------------------------- the corpus

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
SHOWN_LITERALLY = ["script", "img_onerror", "svg_onload", "iframe", "style", "details_ontoggle", "div_style_overlay",
                   "template_string", "entities_already"]
IN_CODE = {"fenced_code": "<script>alert(1)</script>", "inline_code": "<img src=x onerror=alert(1)>",
           "tilde_fence_with_backticks": "<script>alert(1)</script>"}

DANGEROUS_TAGS = {"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
                  "form", "input", "button", "textarea", "select", "link", "meta", "base", "body", "html", "details",
                  "template", "noscript", "mglyph", "mtext"}
MARKDOWN_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "del", "code", "pre",
                 "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "a", "img"}


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
    style_end = html.index("</style>") + len("</style>")
    assert html[:style_end].count("<style>") == 1
    body = html[style_end:]
    assert body.startswith('<div class="dataoorts-answer">') and body.endswith("</div>")
    assert "<style" not in body
    return body


def python_markdown(text: str) -> str:
    """Markdown as a notebook front end renders it: no sanitizer, raw HTML passes through."""
    return markdown.markdown(text, extensions=["tables", "fenced_code"])


_mistune = mistune.create_markdown(escape=False, plugins=["table", "strikethrough", "url"])

# ---------------------------------------------------------------- to_html


@pytest.mark.parametrize("name", sorted(XSS))
def test_to_html_blocks_every_payload(name):
    html = to_html(XSS[name])
    body = strip_wrapper(html)
    audit = assert_no_live_danger(body, set(render.ALLOWED_TAGS))
    for tag, attrs in audit.tags:
        assert set(attrs) <= render.ALLOWED_ATTRIBUTES.get(tag, set()) | {"class", "rel"}, (tag, attrs)
        if "class" in attrs:
            assert tag in ("div", "span"), (tag, attrs)
        if tag == "a" and "href" in attrs:
            assert url_scheme(attrs["href"]) in {"http", "https", "mailto"}
        if tag == "img" and "src" in attrs:
            assert url_scheme(attrs["src"]) in {"http", "https"}
    visible_outside_code = "".join(audit.text).replace("".join(audit.code_text), "")
    assert not re.search(r"(?i)javascript:", visible_outside_code), visible_outside_code


@pytest.mark.parametrize("name", SHOWN_LITERALLY)
def test_to_html_shows_raw_html_as_text(name):
    audit = Audit(strip_wrapper(to_html(XSS[name])))
    shown = "".join(audit.text).replace("\u2060", "")  # script URLs get an invisible word joiner
    assert XSS[name].replace("&lt;", "<").replace("&gt;", ">") in shown


def test_to_html_escapes_simple_tags_visibly():
    audit = Audit(strip_wrapper(to_html("Say <b>hi</b> & bye")))
    assert [t for t, _ in audit.tags] == ["div", "p"]
    assert "".join(audit.text) == "Say <b>hi</b> & bye"


@pytest.mark.parametrize("name", sorted(IN_CODE))
def test_to_html_payload_in_code_stays_visible(name):
    audit = Audit(strip_wrapper(to_html(XSS[name])))
    assert IN_CODE[name] in "".join(audit.code_text)


def test_to_html_link_title_stays_text():
    audit = Audit(strip_wrapper(to_html(XSS["link_title_tag"])))
    (attrs,) = [a for t, a in audit.tags if t == "a"]
    assert attrs == {"href": "https://example.com", "title": "<img src=x onerror=alert(1)>",
                     "rel": "noopener noreferrer nofollow"}


def test_to_html_links_and_images_keep_only_web_urls():
    text = ("[ok](https://example.com/a?b=1&c=2) [mail](mailto:a@example.com) [rel](notes.md) "
            "[proto](//evil.example/x) ![pic](https://example.com/p.png) ![rel](p.png) ![ftp](ftp://x/p.png)")
    audit = Audit(strip_wrapper(to_html(text)))
    links = [a for t, a in audit.tags if t == "a"]
    images = [a for t, a in audit.tags if t == "img"]
    assert [a.get("href") for a in links] == ["https://example.com/a?b=1&c=2", "mailto:a@example.com", None, None]
    assert all(a["rel"] == "noopener noreferrer nofollow" for a in links)
    assert [a.get("src") for a in images] == ["https://example.com/p.png", None, None]


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


def test_to_html_normal_answer_keeps_structure_and_highlighting():
    html = to_html(NORMAL)
    body = strip_wrapper(html)
    audit = assert_no_live_danger(body, set(render.ALLOWED_TAGS))
    tags = [t for t, _ in audit.tags]
    for tag in ("h1", "ul", "ol", "li", "table", "thead", "th", "td", "pre", "code", "blockquote"):
        assert tag in tags, tag
    assert '<div class="codehilite">' in body
    assert '<span class="k">def</span>' in body and '<span class="nf">top</span>' in body
    assert '<th align="center">returns</th>' in body
    assert "style=" not in body


def test_style_block_is_ours_and_scoped():
    html = to_html("x")
    style = html[:html.index("</style>")]
    rules = [line for line in style.splitlines()[1:] if line.strip()]
    assert rules and all(line.startswith(".dataoorts-answer .codehilite") for line in rules)
    assert to_html("y").startswith(style)


@pytest.mark.parametrize("info", ['{.python style="x"}', '{.python pygments_style="nope"}', 'python hl_lines="a b"'])
def test_to_html_survives_fence_options_that_break_codehilite(info):
    body = strip_wrapper(to_html(f"```{info}\nx = 1\n```"))
    assert '<div class="codehilite">' in body and '<span class="n">x</span>' in body


def test_to_html_falls_back_to_verbatim_text_if_markdown_fails(monkeypatch):
    to_html("warm up")

    def boom(text):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(render._markdown, "convert", boom)
    audit = Audit(strip_wrapper(to_html("# Title\n<script>alert(1)</script>")))
    assert [t for t, _ in audit.tags] == ["div", "pre"]
    assert "".join(audit.code_text) == "# Title\n<script>alert(1)</script>"


def test_to_html_output_is_deterministic_for_repeated_calls():
    first = to_html(NORMAL)
    to_html("```\nunclosed")
    assert to_html(NORMAL) == first


# ---------------------------------------------------------------- to_safe_markdown


@pytest.mark.parametrize("name", sorted(XSS))
def test_safe_markdown_is_safe_in_python_markdown(name):
    assert_no_live_danger(python_markdown(to_safe_markdown(XSS[name])), MARKDOWN_TAGS)


@pytest.mark.parametrize("name", sorted(XSS))
def test_safe_markdown_is_safe_in_mistune(name):
    assert_no_live_danger(_mistune(to_safe_markdown(XSS[name])), MARKDOWN_TAGS)


@pytest.mark.parametrize("name", sorted(IN_CODE))
def test_safe_markdown_payload_in_code_stays_visible(name):
    for rendered in (python_markdown(to_safe_markdown(XSS[name])), _mistune(to_safe_markdown(XSS[name]))):
        assert IN_CODE[name] in "".join(Audit(rendered).code_text)


def test_safe_markdown_shows_raw_html_as_text():
    for rendered in (python_markdown(to_safe_markdown("Say <b>hi</b> & bye")),
                     _mistune(to_safe_markdown("Say <b>hi</b> & bye"))):
        audit = Audit(rendered)
        assert [t for t, _ in audit.tags] == ["p"]
        assert "".join(audit.text).strip() == "Say <b>hi</b> & bye"


def test_safe_markdown_defangs_link_but_keeps_text():
    out = to_safe_markdown("[click](javascript:alert(1)) and [ok](https://example.com)")
    audit = Audit(python_markdown(out))
    hrefs = [a["href"] for t, a in audit.tags if t == "a"]
    assert url_scheme(hrefs[0]) == "" and hrefs[1] == "https://example.com"
    assert "".join(audit.text) == "click and ok"


def test_safe_markdown_leaves_an_ordinary_answer_unchanged():
    assert to_safe_markdown(NORMAL) == NORMAL


def test_safe_markdown_renders_like_the_original():
    text = NORMAL + "\nIf a < b && c > d, see <https://example.com>. Also `a < b`.\n\n```c\nif (a < b && c) {}\n```\n"
    safe = to_safe_markdown(text)
    assert "```c\nif (a < b && c) {}\n```" in safe  # code is untouched
    for render_md in (python_markdown, _mistune):
        original, ours = Audit(render_md(text)), Audit(render_md(safe))
        assert [t for t, _ in ours.tags if t != "a"] == [t for t, _ in original.tags if t != "a"]
        assert "".join(ours.code_text) == "".join(original.code_text)
        assert "".join(ours.text).replace("<https://example.com>", "https://example.com") == \
            "".join(original.text)


def test_safe_markdown_fences_are_whole_and_closed():
    safe = to_safe_markdown("~~~python\nx = '```'\n~~~\n\n```\nunclosed <b>")
    assert safe == "````python\nx = '```'\n````\n\n```\nunclosed <b>\n```"


def test_safe_markdown_fence_in_list_is_kept_as_code():
    text = "1. Install:\n\n   ```bash\n   pip install x\n   ```\n2. Done"
    assert to_safe_markdown(text) == text
    risky = "1. Run:\n\n   ```bash\n   pip install x && echo '<ok>'\n\n     more\n   ```\n2. Done"
    ours = Audit(_mistune(to_safe_markdown(risky)))
    assert "".join(ours.code_text) == "".join(Audit(_mistune(risky)).code_text).rstrip("\n")
    assert [t for t, _ in ours.tags] == [t for t, _ in Audit(_mistune(risky)).tags]


FUZZ_PIECES = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "[x](javascript:alert(1))", "`", "``",
               "```", "~~~", "<b>", "[r]: javascript:alert(1)", "[r]", "&#106;avascript:alert(1)", "|", "\\", "text",
               "<http://x/onmouseover=alert(1)//>", "*", "(", ")", "]", "<!--", "<pre>", "</pre>", "$"]
FUZZ_PREFIXES = ["", "", "", " ", "  ", "   ", "    ", "      ", "\t", "> ", "> > ", "- ", "1. ", "2) ", "  - ",
                 "   1. ", "- > ", "    - "]
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


def test_fuzz_safe_markdown_in_both_renderers():
    for doc in fuzz_documents(seed=20261125, count=400):
        safe = to_safe_markdown(doc)
        assert_no_live_danger(python_markdown(safe), MARKDOWN_TAGS)
        assert_no_live_danger(_mistune(safe), MARKDOWN_TAGS)


def test_fuzz_to_html():
    for doc in fuzz_documents(seed=7, count=200):
        assert_no_live_danger(strip_wrapper(to_html(doc)), set(render.ALLOWED_TAGS))


# ---------------------------------------------------------------- code and JSON


def test_first_code_block():
    assert first_code_block("Here:\n```python\nprint(1)\n```\n```js\nx\n```") == ("python", "print(1)")
    assert first_code_block("~~~\nplain\n  text\n~~~") == (None, "plain\n  text")
    assert first_code_block("no code, only `inline` and ```one line```") is None
    assert first_code_block("cut off:\n```sql\nSELECT 1\nFROM t") == ("sql", "SELECT 1\nFROM t")
    assert first_code_block("1. Step\n   ```{.bash}\n   ls -l\n     indented\n   ```") == ("bash", "ls -l\n  indented")
    assert first_code_block("````md\n```\ninner\n```\n````") == ("md", "```\ninner\n```")


def test_parse_json_answer_plain_fenced_and_in_prose():
    assert parse_json_answer('{"a": 1}') == {"a": 1}
    assert parse_json_answer('  [1, 2]\n') == [1, 2]
    assert parse_json_answer('Sure! Here it is:\n```json\n{"name": "x", "tags": ["a"]}\n```\nAnything else?') == \
        {"name": "x", "tags": ["a"]}
    assert parse_json_answer("```\n[true, null]\n```") == [True, None]
    assert parse_json_answer('The result is:\n{"ok": true}\nHope this helps.') == {"ok": True}


@pytest.mark.parametrize("text", ["Sorry, I cannot do that.", "", "See [1] Smith et al.",
                                  'Here:\n```json\n{"a": 1,}\n```'])
def test_parse_json_answer_failure_is_a_clear_value_error(text):
    with pytest.raises(ValueError) as info:
        parse_json_answer(text)
    message = str(info.value)
    assert "JSON" in message and "\n" not in message


def test_parse_json_answer_reports_the_fenced_blocks_error():
    with pytest.raises(ValueError, match=r"line 1, column 9"):
        parse_json_answer('Here:\n```json\n{"a": 1,}\n```')


def test_code_html_unknown_language_falls_back_to_text():
    html = code_html("x = '<script>alert(1)</script>'", "no-such-language")
    body = strip_wrapper(html)
    audit = assert_no_live_danger(body, set(render.ALLOWED_TAGS))
    assert '<div class="codehilite">' in body
    assert "".join(audit.code_text).strip() == "x = '<script>alert(1)</script>'"
    assert re.search(r'<div class="codehilite"><pre><span></span><code>x\n</code></pre></div>\s*</div>$',
                     code_html("x", None))


def test_code_html_highlights_a_known_language():
    body = strip_wrapper(code_html("def f():\n    return 1", "Python"))
    assert '<span class="k">def</span>' in body and '<span class="nf">f</span>' in body


def test_escape_text():
    assert escape_text("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
    assert escape_text(42) == "42"


# ---------------------------------------------------------------- threads and import cost


def test_render_from_8_threads_gives_identical_results():
    texts = [NORMAL, XSS["table_cell_onerror"], "# A\n\n```js\nlet a = 1 < 2;\n```", XSS["fenced_code_unclosed"]]
    expected = [to_html(t) for t in texts]
    barrier = threading.Barrier(8)
    results, errors = {}, []

    def work(n):
        try:
            barrier.wait()
            results[n] = [[to_html(texts[(n + i) % len(texts)]) for i in range(len(texts))] for _ in range(10)]
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for n, rounds in results.items():
        for got in rounds:
            assert got == [expected[(n + i) % len(texts)] for i in range(len(texts))]


def test_import_is_cheap():
    code = ("import sys, dataoorts_magic.render; "
            "print(sorted(m for m in ('markdown', 'nh3', 'pygments') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
