"""render.py: sanitized HTML from the model's Markdown, highlighted code, escaped text.

Every payload of ``xss_corpus`` goes through ``to_html`` and is checked against our allow-list.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading

import pytest
from support.xss_corpus import (
    IN_CODE,
    NORMAL,
    SHOWN_LITERALLY,
    XSS,
    Audit,
    assert_no_live_danger,
    fuzz_documents,
    strip_wrapper,
    url_scheme,
)

from dataoorts_magic.display import render
from dataoorts_magic.display.render import code_html, escape_text, to_html


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
    assert attrs == {
        "href": "https://example.com",
        "title": "<img src=x onerror=alert(1)>",
        "rel": "noopener noreferrer nofollow",
    }


def test_to_html_links_and_images_keep_only_web_urls():
    text = (
        "[ok](https://example.com/a?b=1&c=2) [mail](mailto:a@example.com) [rel](notes.md) "
        "[proto](//evil.example/x) ![pic](https://example.com/p.png) ![rel](p.png) ![ftp](ftp://x/p.png)"
    )
    audit = Audit(strip_wrapper(to_html(text)))
    links = [a for t, a in audit.tags if t == "a"]
    images = [a for t, a in audit.tags if t == "img"]
    assert [a.get("href") for a in links] == ["https://example.com/a?b=1&c=2", "mailto:a@example.com", None, None]
    assert all(a["rel"] == "noopener noreferrer nofollow" for a in links)
    assert [a.get("src") for a in images] == ["https://example.com/p.png", None, None]


def test_to_html_normal_answer_keeps_structure_and_highlighting():
    html = to_html(NORMAL)
    body = strip_wrapper(html)
    audit = assert_no_live_danger(body, set(render.ALLOWED_TAGS))
    tags = [t for t, _ in audit.tags]
    for tag in ("h1", "ul", "ol", "li", "table", "thead", "th", "td", "pre", "code", "blockquote"):
        assert tag in tags, tag
    block = '<div class="codehilite"><pre tabindex="0"><code>'
    assert block + '<span class="k">def</span> <span class="nf">top</span>(xs' in body
    assert '<th align="center">returns</th>' in body and "<th>function</th>" not in body
    assert "style=" not in body


def test_style_comes_only_with_code_or_a_table_and_holds_only_its_rules():
    assert not to_html("Just a *line*, with `code` and $x^2$.").startswith("<style")
    html = to_html("```python\n# note\nx = 1\n```")
    style = html[len("<style>") : html.index("</style>")]
    rules = [rule + "}" for rule in style.split("}") if rule]
    assert rules and all(rule.startswith(".dataoorts-answer ") for rule in rules)
    assert {rule.split("{")[0].rsplit(" ", 1)[1] for rule in rules} == {"pre", "code", ".c1", ".o", ".mi"}
    assert "var(--jp-mirror-editor-comment-color,#408080)" in style  # the theme's colour, a light fallback
    table = to_html("| a |\n|---|\n| 1 |")
    assert table.startswith("<style>.dataoorts-answer tr>") and ".codehilite" not in table


@pytest.mark.parametrize("info", ['{.python style="x"}', '{.python pygments_style="nope"}', 'python hl_lines="a b"'])
def test_to_html_survives_fence_options_that_break_codehilite(info):
    body = strip_wrapper(to_html(f"```{info}\nx = 1\n```"))
    block = '<div class="codehilite"><pre tabindex="0"><code>'
    assert block + 'x <span class="o">=</span> <span class="mi">1</span>' in body


def test_to_html_falls_back_to_verbatim_text_if_markdown_fails(monkeypatch):
    to_html("warm up")

    def boom(text, env=None):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(render._markdown, "render", boom)
    audit = Audit(strip_wrapper(to_html("# Title\n<script>alert(1)</script>")))
    assert [t for t, _ in audit.tags] == ["div", "pre"]
    assert "".join(audit.code_text) == "# Title\n<script>alert(1)</script>"


def test_to_html_output_is_deterministic_for_repeated_calls():
    first = to_html(NORMAL)
    to_html("```\nunclosed")
    assert to_html(NORMAL) == first


def test_fuzz_to_html():
    for doc in fuzz_documents(seed=7, count=200):
        assert_no_live_danger(strip_wrapper(to_html(doc)), set(render.ALLOWED_TAGS))


def test_code_html_unknown_language_falls_back_to_text():
    html = code_html("x = '<script>alert(1)</script>'", "no-such-language")
    body = strip_wrapper(html)
    audit = assert_no_live_danger(body, set(render.ALLOWED_TAGS))
    assert '<div class="codehilite">' in body
    assert "".join(audit.code_text).strip() == "x = '<script>alert(1)</script>'"
    plain = code_html("x", None)
    body = '<div class="codehilite"><pre tabindex="0"><code>x</code></pre></div>'
    assert strip_wrapper(plain) == f'<div class="dataoorts-answer">{body}</div>'
    assert ".codehilite pre{background:" in plain  # the block look, but no token colours


def test_code_html_highlights_a_known_language():
    body = strip_wrapper(code_html("def f():\n    return 1", "Python"))
    assert '<span class="k">def</span> <span class="nf">f</span>():' in body


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


DISPLAY_MODULES = ["render", "safe_markdown", "answer_parts", "fences", "defang", "highlight", "tex_html", "tex_spans"]


@pytest.mark.parametrize("module", [*DISPLAY_MODULES, "styles"])
def test_import_is_cheap(module):
    """The output modules load markdown-it, nh3 and pygments on first use, never on import."""
    code = (
        f"import sys, dataoorts_magic.display.{module}; "
        "heavy = ('markdown', 'markdown_it', 'mdit_py_plugins', 'nh3', 'pygments'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
