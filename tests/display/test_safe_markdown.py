"""safe_markdown.py: the ``text/markdown`` part of the bundle, as JupyterLab would render it.

Every payload of ``xss_corpus`` goes through ``to_safe_markdown`` and is rendered with raw HTML
passing, by Python-Markdown and by mistune; nothing live may come out of either.
"""

from __future__ import annotations

import pytest
from support.xss_corpus import (
    IN_CODE,
    MARKDOWN_TAGS,
    NORMAL,
    XSS,
    Audit,
    assert_no_live_danger,
    fuzz_documents,
    mistune_markdown,
    python_markdown,
    url_scheme,
)

from dataoorts_magic.display.safe_markdown import to_safe_markdown


@pytest.mark.parametrize("name", sorted(XSS))
def test_safe_markdown_is_safe_in_python_markdown(name):
    assert_no_live_danger(python_markdown(to_safe_markdown(XSS[name])), MARKDOWN_TAGS)


@pytest.mark.parametrize("name", sorted(XSS))
def test_safe_markdown_is_safe_in_mistune(name):
    assert_no_live_danger(mistune_markdown(to_safe_markdown(XSS[name])), MARKDOWN_TAGS)


@pytest.mark.parametrize("name", sorted(IN_CODE))
def test_safe_markdown_payload_in_code_stays_visible(name):
    for rendered in (python_markdown(to_safe_markdown(XSS[name])), mistune_markdown(to_safe_markdown(XSS[name]))):
        assert IN_CODE[name] in "".join(Audit(rendered).code_text)


def test_safe_markdown_shows_raw_html_as_text():
    for rendered in (
        python_markdown(to_safe_markdown("Say <b>hi</b> & bye")),
        mistune_markdown(to_safe_markdown("Say <b>hi</b> & bye")),
    ):
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
    for render_md in (python_markdown, mistune_markdown):
        original, ours = Audit(render_md(text)), Audit(render_md(safe))
        assert [t for t, _ in ours.tags if t != "a"] == [t for t, _ in original.tags if t != "a"]
        assert "".join(ours.code_text) == "".join(original.code_text)
        assert "".join(ours.text).replace("<https://example.com>", "https://example.com") == "".join(original.text)


def test_safe_markdown_fences_are_whole_and_closed():
    safe = to_safe_markdown("~~~python\nx = '```'\n~~~\n\n```\nunclosed <b>")
    assert safe == "````python\nx = '```'\n````\n\n```\nunclosed <b>\n```"


def test_safe_markdown_fence_in_list_is_kept_as_code():
    text = "1. Install:\n\n   ```bash\n   pip install x\n   ```\n2. Done"
    assert to_safe_markdown(text) == text
    risky = "1. Run:\n\n   ```bash\n   pip install x && echo '<ok>'\n\n     more\n   ```\n2. Done"
    ours = Audit(mistune_markdown(to_safe_markdown(risky)))
    assert "".join(ours.code_text) == "".join(Audit(mistune_markdown(risky)).code_text).rstrip("\n")
    assert [t for t, _ in ours.tags] == [t for t, _ in Audit(mistune_markdown(risky)).tags]


def test_fuzz_safe_markdown_in_both_renderers():
    for doc in fuzz_documents(seed=20261125, count=400):
        safe = to_safe_markdown(doc)
        assert_no_live_danger(python_markdown(safe), MARKDOWN_TAGS)
        assert_no_live_danger(mistune_markdown(safe), MARKDOWN_TAGS)
