"""Answers in a real JupyterLab look as a Markdown cell shows them: math typeset, lists nested, dark theme readable.

One JupyterLab (``lab_server.JupyterLab``) for this module serves generated notebooks; each
answer comes from a scripted loopback endpoint, beside a Markdown cell holding the same text,
so the screenshots (``artifacts/screenshots/rendering-*.png``) compare the two.

- JupyterLab Light: MathJax typesets every formula of the answer (``mjx-container``), no LaTeX
  source is left visible, money stays text, nested lists are nested, ``li pre`` holds the code;
- JupyterLab Dark (set through JupyterLab's own settings API before the page opens): the answer's
  text, every token of its code block and its footer read at a contrast of at least 4.5:1
  against what is behind them, computed from the page's computed styles, and so does its code
  where our ``<style>`` is stripped (as a front end may for an untrusted notebook);
- the quickstart and teaching notebooks, run in both themes, for a person to look at.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import nbformat
import pytest
from support import lab_page
from support.lab_page import (
    REPO,
    chromium,
    code_cells,
    open_notebook,
    run_all,
    screenshot,
    wait_until_cells_ran,
)
from support.lab_server import running_lab

pytestmark = pytest.mark.slow  # JupyterLab in Chromium: seconds per test

BLOCKS = "h1,h2,h3,h4,h5,h6,p,ul,ol,li,table,tr,th,td,pre,blockquote"
# notebook -> its %%llama cell whose answer we put beside JupyterLab's own Markdown rendering of its text
SIDE_BY_SIDE = {"quickstart.ipynb": 5, "teaching_parameters.ipynb": 11}
ANSWER = """Here is how to fit a line:
1. Install the package:
   ```bash
   pip install numpy  # once
   ```
2. Fit it:
   - compute the means $\\bar x$ and $\\bar y$
     - then the slope \\(b = \\frac{\\sum (x_i-\\bar x)(y_i-\\bar y)}{\\sum (x_i-\\bar x)^2}\\)
   - and the intercept $a = \\bar y - b\\bar x$
3. Done. Both $x^*$ and $y^*$ are optimal; a licence costs $5 and a book $10.

$$
\\begin{aligned} S &= \\{1, 2\\} \\\\ A &= \\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix} \\end{aligned}
$$

\\[ e^{i\\pi} + 1 = 0 \\]

```python
@dataclass
class Fit:
    slope: float = 0.5  # per unit

def fit(xs, ys):
    \"\"\"Least squares.\"\"\"
    n = len(xs)
    return sum(x * y for x, y in zip(xs, ys)) / n, f"{n} points\\n", True
```
"""
FORMULAS = 8  # \\bar x, \\bar y, the slope, the intercept, x^*, y^*, the aligned block, Euler's identity
TEX_SOURCE = ("\\frac", "\\bar", "\\begin", "\\sum", "\\(", "\\[", "$$", "^*", "\\pi")

# Colours as the page paints them: any CSS colour (color-mix, rgba) through a canvas, alpha over what is behind.
CONTRAST = """(el) => {
  const ctx = Object.assign(document.createElement('canvas'), {width: 1, height: 1}).getContext('2d');
  const rgba = (css) => { ctx.clearRect(0, 0, 1, 1); ctx.fillStyle = css; ctx.fillRect(0, 0, 1, 1);
                          const d = ctx.getImageData(0, 0, 1, 1).data; return [d[0], d[1], d[2], d[3] / 255]; };
  const over = (top, under) => top.slice(0, 3).map((c, i) => c * top[3] + under[i] * (1 - top[3]));
  const behind = (node) => {
    const layers = [];
    for (let n = node; n; n = n.parentElement) {
      const bg = rgba(getComputedStyle(n).backgroundColor);
      if (bg[3] > 0) layers.push(bg);
      if (bg[3] === 1) break;
    }
    return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255]);
  };
  const lin = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  const lum = (rgb) => 0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2]);
  const bg = behind(el), fg = over(rgba(getComputedStyle(el).color), bg);
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  return {ratio: (hi + 0.05) / (lo + 0.05), fg: fg.map(Math.round), bg: bg.map(Math.round),
          text: el.textContent.slice(0, 40)};
}"""


def endpoint_answers(text: str, count: int) -> list[dict]:
    usage = {"prompt_tokens": 30, "completion_tokens": 300, "total_tokens": 330}
    body = {"errors": [], "messages": [], "success": True, "result": {"response": text, "usage": usage}}
    return [{"body": json.dumps(body), "status": 200, "content_type": "application/json"}] * count


def answer_notebook(url: str, key: str):
    """Set-up, the %%llama cell, a Markdown cell with the same text (the comparison), the answer unstyled."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    setup = (
        f'import os\nos.environ["DATAOORTS_API_URL"] = "{url}"\nos.environ["DATAOORTS_API_KEY"] = "{key}"\n'
        "%load_ext dataoorts_magic"
    )
    unstyled = (  # the answer where a front end strips <style> (an untrusted notebook); renamed, as the
        # page applies the other answer's rules to every .dataoorts-answer
        "import re\nhtml = fit._repr_mimebundle_()[0]['text/html'].replace('dataoorts-answer', 'unstyled')\n"
        "display({'text/html': re.sub(r'<style>.*?</style>', '', html, flags=re.S)}, raw=True)"
    )
    nb.cells = [
        nbformat.v4.new_code_cell(setup),
        nbformat.v4.new_code_cell("%%llama -o fit\nHow do I fit a line?"),
        nbformat.v4.new_markdown_cell(ANSWER),
        nbformat.v4.new_code_cell(unstyled),
    ]
    return nb


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving the two notebooks we look at (and their data), and the notebooks the tests write."""
    root, private = tmp_path_factory.mktemp("rendering-root"), tmp_path_factory.mktemp("rendering-private")
    for name in SIDE_BY_SIDE:
        shutil.copy(REPO / "notebooks" / name, root / name)
    shutil.copytree(REPO / "notebooks" / "data", root / "data")
    log = REPO / "artifacts" / "jupyterlab-rendering.log"
    with running_lab(root, private, log, {"DATAOORTS_MAGIC_HOME": str(private / "home")}) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(params=["JupyterLab Light", "JupyterLab Dark"], ids=["light", "dark"])
def themed_page(request, browser, lab):
    with lab_page.themed_page(browser, lab, request.param) as themed:
        yield themed


def run_notebook(page, lab, name: str, theme: str) -> None:
    open_notebook(page, lab, name, f"{Path(name).stem}-{theme}-{secrets.token_hex(4)}")
    page.wait_for_function("(theme) => document.body.dataset.jpThemeName === theme", arg=f"JupyterLab {theme.title()}")
    run_all(page)
    wait_until_cells_ran(page, code_cells(lab.root_dir / name))  # -f code adds a cell below, not run


def answer_cell(page):
    return page.locator(".jp-NotebookPanel .jp-CodeCell").nth(1)


def test_an_answer_looks_as_a_markdown_cell_and_reads_in_either_theme(lab, themed_page):
    from playwright.sync_api import expect

    from dataoorts_magic.offline.server import OfflineServer

    page, theme = themed_page
    key = "sk-test-" + secrets.token_hex(8)
    name = f"rendering-{theme}.ipynb"
    with OfflineServer(api_key=key, script=endpoint_answers(ANSWER, 1)).start() as endpoint:
        nbformat.write(answer_notebook(endpoint.url, key), lab.root_dir / name)
        run_notebook(page, lab, name, theme)
    answer = answer_cell(page).locator(".dataoorts-answer")
    expect(answer).to_be_visible()
    expect(answer.locator("mjx-container")).to_have_count(FORMULAS)  # MathJax typeset every formula
    answer_cell(page).scroll_into_view_if_needed()
    screenshot(page, f"rendering-{theme}-answer")
    page.locator(".jp-NotebookPanel .jp-MarkdownCell").scroll_into_view_if_needed()
    screenshot(page, f"rendering-{theme}-markdown-cell")

    visible = answer.evaluate(
        "el => { const c = el.cloneNode(true); c.querySelectorAll('mjx-container').forEach(m => m.remove());"
        " return c.textContent; }"
    )
    for source in TEX_SOURCE:
        assert source not in visible, (source, visible)
    assert "a licence costs $5 and a book $10." in " ".join(answer.inner_text().split())  # money is money
    expect(answer.locator("ol > li > ul > li > ul > li mjx-container")).to_have_count(1)  # nested, as written
    expect(answer.locator("ol > li")).to_have_count(3)
    expect(answer.locator("ol > li").nth(0).locator("pre")).to_contain_text("pip install numpy")  # li pre
    expect(answer.locator("ol > li").nth(2)).to_contain_text("Done.")

    checks = {"text": answer.locator("ol > li").nth(2), "footer": answer_cell(page).locator(".dataoorts-footer")}
    code = answer.locator(".codehilite pre").last
    checks["code"] = code.locator("code")
    for i, token in enumerate(code.locator("span").all()):
        checks[f"token {i}"] = token
    unstyled = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(2).locator(".unstyled .codehilite pre").last
    unstyled.scroll_into_view_if_needed()
    screenshot(page, f"rendering-{theme}-without-style")
    checks["code without our <style>"] = unstyled.locator("code")
    for i, token in enumerate(unstyled.locator("span").all()):
        checks[f"token {i} without our <style>"] = token
    worst = min(
        (locator.evaluate(CONTRAST) | {"what": what} for what, locator in checks.items()), key=lambda c: c["ratio"]
    )
    assert worst["ratio"] >= 4.5, worst
    assert len(checks) > 24  # both code blocks' tokens were measured, not skipped


def beside_markdown(name: str, cell: int):
    """The notebook, its cell ``cell`` keeping its answer(s) in ``_seen``, and the text rendered by
    JupyterLab's Markdown renderer (the one a Markdown cell uses) in the cell after it."""
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    first_line, rest = nb.cells[cell].source.split("\n", 1)
    nb.cells[cell].source = f"{first_line} -o _seen\n{rest}"
    show = "_first = _seen[0] if isinstance(_seen, list) else _seen\ndisplay({'text/markdown': _first.text}, raw=True)"
    nb.cells.insert(cell + 1, nbformat.v4.new_code_cell(show))
    return nb


def block_tags(locator) -> list[str]:
    return locator.evaluate(f"el => [...el.querySelectorAll('{BLOCKS}')].map(e => e.localName)")


@pytest.mark.parametrize("name", list(SIDE_BY_SIDE))
def test_the_notebooks_answers_have_the_structure_of_a_markdown_cell(lab, themed_page, name):
    from playwright.sync_api import expect

    page, theme = themed_page
    cell = SIDE_BY_SIDE[name]
    copy = f"side-by-side-{theme}-{name}"
    nbformat.write(beside_markdown(name, cell), lab.root_dir / copy)
    run_notebook(page, lab, copy, theme)
    cells = page.locator(".jp-NotebookPanel .jp-CodeCell")
    ours = cells.nth(code_index(name, cell)).locator(".dataoorts-answer").first
    theirs = cells.nth(code_index(name, cell) + 1).locator(".jp-RenderedMarkdown")
    expect(ours).to_be_visible()
    expect(theirs).to_be_visible()
    ours.scroll_into_view_if_needed()
    screenshot(page, f"rendering-{theme}-{Path(name).stem}-answer")
    theirs.scroll_into_view_if_needed()
    screenshot(page, f"rendering-{theme}-{Path(name).stem}-as-markdown")
    assert block_tags(ours) == block_tags(theirs)
    assert " ".join(ours.inner_text().split()) == " ".join(theirs.inner_text().split())


def code_index(name: str, cell: int) -> int:
    """The position of notebook cell ``cell`` among the code cells."""
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    return sum(1 for c in nb.cells[:cell] if c.cell_type == "code")
