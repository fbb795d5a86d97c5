"""LLM-style Markdown, each case checked for the structure a CommonMark (+ GFM) reader gives it.

The cases are what Llama 3.1 8B writes and what the old renderer got wrong (issue 11): a list
right after a paragraph line, lists nested by two, three or four spaces or a tab, fenced code
inside a numbered item, bare URLs, strikethrough, task lists, ``__init__`` and snake_case in
prose, money next to math, and math with ``*``, ``_``, ``\\\\``, ``\\{`` and matrices. The
expected structures are written by hand from the CommonMark spec and GitHub's extensions
(``structure`` prints the tag tree, text in quotes), so they check the renderer, not echo it.
Formulas must come out verbatim in ``\\(…\\)`` / ``\\[…\\]``, and the ``text/markdown`` part must
keep the same formulas as typed.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from support.xss_corpus import strip_wrapper

from dataoorts_magic.display.render import to_html
from dataoorts_magic.display.safe_markdown import to_safe_markdown
from dataoorts_magic.display.tex_spans import segments


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        mark = "." + attrs["class"] if attrs.get("class") in ("math", "codehilite") else ""
        mark += f"[{attrs['start']}]" if "start" in attrs else ""
        self.out.append(f"{tag}{mark}(")
        self.open.append(tag)

    def handle_endtag(self, tag):
        self.out.append(")")
        self.open.pop()

    def handle_data(self, data):
        text = " ".join(data.split()) if "pre" not in self.open else data.rstrip("\n")
        if text:
            self.out.append(repr(text))


def structure(html: str) -> str:
    """``<ol><li>a</li></ol>`` -> ``ol( li( 'a' ) )``: the tags inside our wrapper, and the text."""
    tree = _Tree()
    tree.feed(strip_wrapper(html))
    return " ".join(tree.out).removeprefix("div( ").removesuffix(" )").replace("( )", "()")


CASES = {
    "list right after a paragraph line": (
        "Here are the steps:\n1. Install\n2. Run",
        "p( 'Here are the steps:' ) ol( li( 'Install' ) li( 'Run' ) )",
    ),
    "bullets nested by two spaces": (
        "- a\n  - b\n    - c\n- d",
        "ul( li( 'a' ul( li( 'b' ul( li( 'c' ) ) ) ) ) li( 'd' ) )",
    ),
    "bullets nested by a tab": ("- a\n\t- b\n- c", "ul( li( 'a' ul( li( 'b' ) ) ) li( 'c' ) )"),
    "numbers nested by three spaces": (
        "1. First\n   - detail\n   - more\n2. Second",
        "ol( li( 'First' ul( li( 'detail' ) li( 'more' ) ) ) li( 'Second' ) )",
    ),
    "numbers nested by four spaces": (
        "1. First\n    1. inner\n2. Second",
        "ol( li( 'First' ol( li( 'inner' ) ) ) li( 'Second' ) )",
    ),
    "a numbered list keeps its numbers": ("3. three\n4. four", "ol[3]( li( 'three' ) li( 'four' ) )"),
    "fenced code inside a numbered item": (
        "1. Install:\n   ```bash\n   pip install pandas\n   ```\n2. Import it.\n3. Done.",
        "ol( li( 'Install:' div.codehilite( pre( code( 'pip install pandas' ) ) ) ) li( 'Import it.' ) li( 'Done.' ) )",
    ),
    "fenced code in a loose item, after a blank line": (
        "1. Run:\n\n    ```python\n    print(1)\n    ```\n\n2. Done.",
        "ol( li( p( 'Run:' ) div.codehilite( pre( code( span( 'print' ) '(' span( '1' ) ')' ) ) ) ) "
        "li( p( 'Done.' ) ) )",
    ),
    "bare URL, strikethrough, task list": (
        "See https://pandas.pydata.org and ~~old~~ new.\n\n- [x] load\n- [ ] plot",
        "p( 'See' a( 'https://pandas.pydata.org' ) 'and' s( 'old' ) 'new.' ) ul( li( '☑ load' ) li( '☐ plot' ) )",
    ),
    "__init__ and snake_case in prose": (
        "Define __init__ and call snake_case_name, or `__init__` in code.",
        "p( 'Define' strong( 'init' ) 'and call snake_case_name, or' code( '__init__' ) 'in code.' )",
    ),
    "raw HTML is text": ("Use <b>bold</b> here.", "p( 'Use <b>bold</b> here.' )"),
    "a table": (
        "| x | y |\n|:--|--:|\n| 1 | 2 |",
        "table( thead( tr( th( 'x' ) th( 'y' ) ) ) tbody( tr( td( '1' ) td( '2' ) ) ) )",
    ),
    "money is money": (
        "It costs $5 and $10, or $20-$30.",
        "p( 'It costs' span( '$' ) '5 and' span( '$' ) '10, or' span( '$' ) '20-' span( '$' ) '30.' )",
    ),
    "inline math with stars and underscores": (
        "Both $x^*$ and $y^*$ are optimal, with $a_1 + b_2$.",
        r"p( 'Both' span.math( '\\(x^*\\)' ) 'and' span.math( '\\(y^*\\)' ) 'are optimal, with' "
        r"span.math( '\\(a_1 + b_2\\)' ) '.' )",
    ),
    "parenthesis and bracket delimiters": (
        "Area \\(\\pi r^2\\), and\n\\[ e^{i\\pi}+1=0 \\]",
        r"p( 'Area' span.math( '\\(\\pi r^2\\)' ) ', and' span.math( '\\[e^{i\\pi}+1=0\\]' ) )",
    ),
    "display math with aligned rows and braces": (
        "$$\n\\begin{aligned} S &= \\{1,2\\} \\\\ T &= \\emptyset \\end{aligned}\n$$",
        r"div.math( '\\[\\begin{aligned} S &= \\{1,2\\} \\\\ T &= \\emptyset \\end{aligned}\\]' )",
    ),
    "a matrix keeps its brackets": (
        "The matrix $$A = \\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}$$ is invertible.",
        r"p( 'The matrix' span.math( '\\[A = \\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}\\]' ) "
        "'is invertible.' )",
    ),
    "a bare environment": (
        "\\begin{align}\nx &= 1 \\\\\ny &= 2\n\\end{align}",
        "div.math( '\\\\begin{align} x &= 1 \\\\\\\\ y &= 2 \\\\end{align}' )",
    ),
    "math inside code stays code": (
        "Type `$x$` or:\n\n```\n$$y$$\n```",
        "p( 'Type' code( '$x$' ) 'or:' ) div.codehilite( pre( code( '$$y$$' ) ) )",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_structure_is_what_a_commonmark_reader_gives(name):
    text, expected = CASES[name]
    assert structure(to_html(text)) == expected


def formulas(text: str) -> list[str]:
    return [piece for kind, piece in segments(text) if kind == "math"]


@pytest.mark.parametrize("name", [n for n, (text, _) in CASES.items() if "$" in text or "\\" in text])
def test_the_markdown_part_keeps_each_formula_as_typed_and_escapes_money(name):
    text, _ = CASES[name]
    safe = to_safe_markdown(text)
    for formula in formulas(text):
        assert formula in safe
    found = formulas(text)
    outside = "".join(piece for kind, piece in segments(text) if kind == "text" and "`" not in piece)
    assert safe.count("\\$") == outside.count("$")  # every other dollar is a literal one
    html_formulas = structure(to_html(text)).count("span.math(") + structure(to_html(text)).count("div.math(")
    assert html_formulas == len(found), (found, structure(to_html(text)))  # the HTML saw the same formulas
