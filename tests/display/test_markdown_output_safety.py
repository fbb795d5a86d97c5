"""The ``text/markdown`` we emit, through real ``%%llama`` cells: fences whole and links only to the web.

A reader of our Markdown (JupyterLab's, GitHub's, nbconvert's, a ``.md`` viewer) must never see a
fence end or begin where we did not put one, whatever line terminator the model used (a bare CR,
CR LF, U+2028, U+2029), and never a link or image to a scheme but http, https and mailto. Each
part is rendered by four readers with raw HTML passing (``MARKDOWN_READERS``) and audited.
"""

from __future__ import annotations

import re

import pytest
from support.scripted_server import Answer, ok, sse
from support.shell import run
from support.xss_corpus import MARKDOWN_READERS, MARKDOWN_TAGS, Audit, assert_no_live_danger, url_scheme

PAYLOAD = "<img src=x onerror=alert(1)>"
TERMINATORS = {"cr": "\r", "crlf": "\r\n", "u2028": "\u2028", "u2029": "\u2029"}
READER_LINES = re.compile(r"\r\n|[\r\n\u2028\u2029]")  # every line end some reader honours


def assert_safe_everywhere(markdown: str) -> None:
    for name, read in MARKDOWN_READERS.items():
        html = read(markdown)
        assert_no_live_danger(html, MARKDOWN_TAGS)
        assert PAYLOAD not in html, (name, html)
        for tag, attrs in Audit(html).tags:
            for attr in ("href", "src"):
                if attr in attrs:
                    assert url_scheme(attrs[attr]) in {"", "http", "https", "mailto"}, (name, tag, attrs)


def assert_one_whole_fence(markdown: str) -> None:
    """Split at every terminator a reader may honour, the block we opened closes only at its own closer."""
    lines = READER_LINES.split(markdown)
    fence = re.match(r"`{3,}", lines[0])[0]
    closers = [i for i, line in enumerate(lines[1:], 1) if re.fullmatch(r" {0,3}`{3,}[ \t]*", line)]
    assert [lines[i].strip() for i in closers if len(lines[i].strip()) >= len(fence)] == [fence], lines


def markdown_of(cap) -> str:
    return cap.outputs[-1].data["text/markdown"]


@pytest.mark.parametrize("end", sorted(TERMINATORS))
@pytest.mark.parametrize("fmt", ["text", "code"])
def test_a_line_end_in_the_answer_never_closes_our_fence(ip, scripted, fmt, end):
    t = TERMINATORS[end]
    scripted.script(ok(f"Here it is:{t}```{t}{PAYLOAD}{t}```{t}done"))
    result, cap = run(ip, f"%%llama -f {fmt}\nShow it")
    assert result.success, cap.stderr
    markdown = markdown_of(cap).split("\n\n---\n", 1)[0]  # the block, without our footer
    assert_one_whole_fence(markdown)
    assert_safe_everywhere(markdown_of(cap))


@pytest.mark.parametrize("end", ["u2028", "u2029"])  # JSON writes CR and LF as \\r and \\n, these as they are
def test_a_json_string_with_a_line_separator_never_closes_our_fence(ip, scripted, end):
    t = TERMINATORS[end]
    scripted.script(ok('{"a": "x' + t + "```" + t + PAYLOAD + '"}'))
    result, cap = run(ip, "%%llama -f json\nAs JSON")
    assert result.success, cap.stderr
    assert_one_whole_fence(markdown_of(cap).split("\n\n---\n", 1)[0])
    assert_safe_everywhere(markdown_of(cap))


@pytest.mark.parametrize("end", sorted(TERMINATORS))
def test_a_line_end_in_a_markdown_answer_never_opens_a_fence_we_did_not_see(ip, scripted, end):
    t = TERMINATORS[end]  # a reader that ends a line there would see the kept block's code as prose
    scripted.script(ok(f"Look{t}```\n\n```\n{PAYLOAD}\n```\n"))
    result, cap = run(ip, "%%llama\nShow it")
    assert result.success, cap.stderr
    assert_safe_everywhere(markdown_of(cap))


@pytest.mark.parametrize("end", sorted(TERMINATORS))
def test_the_live_stream_display_keeps_its_fence_whole(ip, scripted, end):
    t = TERMINATORS[end]
    events = [{"response": "Here:"}, {"response": f"{t}```{t}"}, {"response": PAYLOAD}, {"response": f"{t}more"}]
    body = sse(*events, {"response": "", "usage": {"prompt_tokens": 1, "completion_tokens": 4, "total_tokens": 5}})
    scripted.script(Answer(content_type="text/event-stream", chunks=[(body, 0.0)]))
    result, cap = run(ip, "%%llama --stream -f text\nStream it")
    assert result.success, cap.stderr
    assert len(cap.outputs) >= 2  # the live display, then the answer in its place
    for out in cap.outputs:
        markdown = out.data["text/markdown"]
        assert_one_whole_fence(markdown.split("\n\n---\n", 1)[0])
        assert_safe_everywhere(markdown)


def test_history_and_export_keep_a_fenced_system_prompt_inert(ip, scripted, tmp_path):
    ip.user_ns["sysp"] = f"~~~\n{PAYLOAD}\n~~~"
    ip.user_ns["ask"] = f"Hello\r```\r{PAYLOAD}"
    scripted.script(ok(f"Hi\u2028```\u2028{PAYLOAD}"))
    result, cap = run(ip, '%%llama -c inert -s "{sysp}"\n{ask}')
    assert result.success, cap.stderr
    shown = ip.run_line_magic("llama_history", "inert")._repr_mimebundle_()[0]["text/markdown"]
    path = tmp_path / "inert.md"
    result, cap = run(ip, f"%llama_history inert --export {path}")
    assert result.success, cap.stderr
    for markdown in (shown, path.read_text("utf-8")):
        assert_safe_everywhere(markdown)
        assert "<img src=x onerror=alert(1)>" in "".join(Audit(MARKDOWN_READERS["commonmark"](markdown)).code_text)


LINKS = (
    "[a](file:///etc/passwd) [b](mhtml:http://e.example/x) [c](jar:http://e.example/a.jar!/) "
    "[d](feed:http://e.example/) [e](made-up:thing) [f](<file:///x>) [g]( \n file:///y) "
    "![h](file:///p.png) [i][r] [j](FiLe\\:///z) ftp://e.example/k and [ok](https://e.example/) "
    "<mailto:a@e.example> www.example.org/w\n\n[r]: jar:http://e.example/r\n"
)


def test_links_in_the_markdown_go_only_to_http_https_and_mailto(ip, scripted):
    scripted.script(ok(LINKS))
    result, cap = run(ip, "%%llama\nLinks please")
    assert result.success, cap.stderr
    markdown = markdown_of(cap)
    assert_safe_everywhere(markdown)
    for read in MARKDOWN_READERS.values():
        html = read(markdown)
        assert not re.search(r"<a\b[^>]*>[a-j]</a>|<img\b", html), html  # the others stay text
    html = MARKDOWN_READERS["commonmark"](markdown)
    hrefs = {a["href"] for t, a in Audit(html).tags if t == "a" and "href" in a}
    assert {"https://e.example/", "mailto:a@e.example", "http://www.example.org/w"} <= hrefs
    html = cap.outputs[-1].data["text/html"]  # the HTML keeps them to the same schemes
    schemes = {url_scheme(a["href"]) for t, a in Audit(html).tags if t == "a" and "href" in a}
    assert schemes == {"https", "mailto", "http"}
