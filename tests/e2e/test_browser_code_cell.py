"""``-f code`` in a real JupyterLab (Debian's Chromium): the answer's code block lands in a new cell below, not run.

A notebook asks, with ``-x 1``, for code about the cell above, on the offline endpoint; after
Run All the answer shows the highlighted code with its footer, and below that cell JupyterLab
has inserted a new code cell holding that code, with no execution count (it did not run).
Screenshots in JupyterLab Light and Dark go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import secrets

import nbformat
import pytest
from support.lab_page import REPO, chromium, open_notebook, run_all, screenshot, set_theme, wait_until_ran
from support.lab_server import running_lab

pytestmark = pytest.mark.slow  # JupyterLab in Chromium: seconds per test

NOTEBOOK = "code_cell.ipynb"
CELLS = [
    "%load_ext dataoorts_magic\n%llama_config --offline",
    'words = ["mat", "sofa", "floor"]',
    "%%llama -x 1 -f code\nWrite a loop that prints each of my words.",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-root")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(nb, root / NOTEBOOK)
    private = tmp_path_factory.mktemp("lab-private")
    env = {"DATAOORTS_MAGIC_HOME": str(private / "dataoorts-home")}
    with running_lab(root, private, REPO / "artifacts" / "jupyterlab-code-cell.log", env) as server:
        yield server


@pytest.fixture
def page(lab):
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            lab.delete_all_sessions()


def test_f_code_puts_the_code_block_into_a_new_cell_below_not_run(lab, page):
    from playwright.sync_api import expect

    open_notebook(page, lab, NOTEBOOK, f"code-cell-{secrets.token_hex(4)}")
    run_all(page)
    wait_until_ran(page, len(CELLS))
    cells = page.locator(".jp-NotebookPanel .jp-Cell")
    expect(cells).to_have_count(len(CELLS) + 1)  # one cell more than the notebook had
    asked, new = cells.nth(len(CELLS) - 1), cells.nth(len(CELLS))
    shown = asked.locator(".jp-OutputArea-output .dataoorts-answer .codehilite pre")
    expect(shown).to_be_visible()  # the answer shows the code, highlighted ...
    footer = asked.locator(".jp-OutputArea-output .dataoorts-footer")
    expect(footer).to_contain_text("meta/llama-3.1-8b-instruct")  # ... with its footer
    expect(footer).to_contain_text("offline")
    code = " ".join(shown.inner_text().split())
    assert code.startswith("# a ") and "offline echo" in code
    source = " ".join(new.locator(".jp-InputArea-editor .cm-content").inner_text().split())
    assert source == code  # the new cell holds the code block
    assert "jp-CodeCell" in (new.get_attribute("class") or "")
    prompt = new.locator(".jp-InputPrompt").inner_text().strip()
    assert prompt in ("[ ]:", "[ ]"), prompt  # not run: no execution count
    expect(new.locator(".jp-OutputArea-output")).to_have_count(0)
    new.scroll_into_view_if_needed()
    screenshot(page, "code-cell-1-new-cell-light")
    set_theme(page, "JupyterLab Dark")
    try:
        new.scroll_into_view_if_needed()
        screenshot(page, "code-cell-2-new-cell-dark")
    finally:
        set_theme(page, "JupyterLab Light")
