"""Issue 20's papercuts, checked in a real JupyterLab as a teacher or an analyst meets them.

One JupyterLab for this module; the notebooks run against the bundled offline endpoint; every
step is screenshotted in JupyterLab Light and Dark (``artifacts/screenshots/papercuts-*``).

- 1: a ``-f json`` answer and a ``--schema`` answer show highlighted JSON / the fields table with
  their footer (model, tokens, cost, time), never JupyterLab's JSON tree;
- 4: a long code line keeps its words whole and scrolls sideways inside its block, full width and
  in a ``--compare`` column, and the output itself never scrolls sideways;
- 2: a batch's progress is a plain line: saved, closed and reopened without widget state, the
  notebook shows the last line and no "Error displaying widget";
- 7: "Show as %%llama cell" shows the cell with the focus in its box, so Ctrl+A, Ctrl+C puts the
  cell on the clipboard (read back from the browser's clipboard);
- 11: the newest answer is the first under Send; New chat clears the transcript and the cell box;
  the saved copy keeps the turns from before New chat.
"""

from __future__ import annotations

import json
import secrets

import nbformat
import pytest
from support.lab_page import REPO, chromium, open_notebook, run_all, save, screenshot, set_theme, wait_until_ran
from support.lab_server import running_lab

pytestmark = pytest.mark.slow  # JupyterLab in Chromium: seconds per test

LONG = (
    "result = fit_model(training_data, temperature=0.2, fourth_argument=4, learning_rate=0.001, "
    "max_iterations=10_000, callbacks=[early_stopping, checkpoint], verbose=True)"
)
SETUP = "%load_ext dataoorts_magic\n%llama_config --offline"
CODE_ANSWER = f"""from dataoorts_magic.display.response import LlamaResponse
from dataoorts_magic.batch.compare import Comparison
code = LlamaResponse(text="Call it so:\\n\\n```python\\n{LONG}\\n```\\n", model="meta/llama-3.1-8b-instruct",
                     params={{}}, messages=[])
display(code)
Comparison(["temperature=0", "temperature=0.7", "temperature=1.5"], [code, code, code])"""
# How a code block lays out: the distinct line tops of its text (one per source line when words are kept whole).
CODE_BOX = """pre => {
  const range = document.createRange(); range.selectNodeContents(pre.querySelector('code'));
  const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
  return {lines, scroll: [pre.scrollWidth, pre.clientWidth],
          whiteSpace: getComputedStyle(pre.querySelector('code')).whiteSpace,
          wordBreak: getComputedStyle(pre).wordBreak};
}"""


def notebook(*sources: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in (SETUP, *sources)]
    return nb


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root, private = tmp_path_factory.mktemp("papercuts-root"), tmp_path_factory.mktemp("papercuts-private")
    log = REPO / "artifacts" / "jupyterlab-papercuts.log"
    with running_lab(root, private, log, {"DATAOORTS_MAGIC_HOME": str(private / "home")}) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url)
    try:
        yield context.new_page()
    finally:
        context.close()
        lab.delete_all_sessions()


def cell(page, index: int):
    return page.locator(".jp-NotebookPanel .jp-CodeCell").nth(index)


def both_themes(page, locator, name: str) -> None:
    """Screenshots of ``locator`` in JupyterLab Light, then Dark (and back to Light)."""
    locator.scroll_into_view_if_needed()
    screenshot(page, f"papercuts-{name}-light")
    set_theme(page, "JupyterLab Dark")
    try:
        locator.scroll_into_view_if_needed()
        screenshot(page, f"papercuts-{name}-dark")
    finally:
        set_theme(page, "JupyterLab Light")


def run_notebook(page, lab, name: str, nb) -> None:
    nbformat.write(nb, lab.root_dir / name)
    open_notebook(page, lab, name, f"{name.split('.')[0]}-{secrets.token_hex(4)}")
    run_all(page)
    wait_until_ran(page)


def test_json_and_schema_answers_show_their_footer_and_code_keeps_words_whole(lab, page):
    from playwright.sync_api import expect

    run_notebook(
        page,
        lab,
        "answers.ipynb",
        notebook(
            "%%llama -f json --seed 1\nGive me json about cats",
            '%%llama --schema "mood: happy|sad, stars: int" --seed 1\nI love this kettle.',
            CODE_ANSWER,
        ),
    )
    for index, inside in ((1, ".codehilite"), (2, "table")):
        out = cell(page, index).locator(".jp-OutputArea-output")
        expect(out).to_have_count(1)
        expect(out).to_have_attribute("data-mime-type", "text/html")  # not application/json's tree
        expect(out.locator(".jp-RenderedJSON")).to_have_count(0)
        expect(out.locator(inside).first).to_be_visible()
        expect(out.locator(".dataoorts-footer")).to_contain_text("meta/llama-3.1-8b-instruct · ")
        expect(out.locator(".dataoorts-footer")).to_contain_text(" tokens · $")
    expect(cell(page, 1).locator(".codehilite")).to_contain_text('"source": "offline"')
    expect(cell(page, 2).locator("table")).to_contain_text("stars")
    both_themes(page, cell(page, 1), "1-json-and-schema")

    outputs = cell(page, 3).locator(".jp-OutputArea-output")
    expect(outputs).to_have_count(2)
    blocks = [outputs.nth(0).locator(".codehilite pre")] + [
        outputs.nth(1).locator(".dataoorts-compare .codehilite pre").nth(i) for i in range(3)
    ]
    for block in blocks:
        box = block.evaluate(CODE_BOX)
        assert box["lines"] == 1 and box["whiteSpace"] == "pre" and box["wordBreak"] == "normal", box
        assert box["scroll"][0] > box["scroll"][1], box  # too wide: it scrolls sideways, inside its block
        assert LONG in " ".join(block.inner_text().split())
    for i in range(2):
        width = outputs.nth(i).evaluate("o => [o.scrollWidth, o.clientWidth]")
        assert width[0] <= width[1], width  # the output itself never scrolls sideways
    both_themes(page, cell(page, 3), "4-code-keeps-words-whole")


def test_a_reopened_batch_shows_its_last_progress_line_and_no_widget_error(lab, page):
    from playwright.sync_api import expect

    name = "batch.ipynb"
    run_notebook(
        page,
        lab,
        name,
        notebook("plants = ['fern', 'cactus', 'ivy']", "%%llama --over plants -o care\nWater a {item}?"),
    )
    progress = cell(page, 2).locator(".dataoorts-progress")
    expect(progress).to_contain_text("llama 3/3 · ")
    expect(cell(page, 2).locator(".dataoorts-batch")).to_be_visible()
    expect(cell(page, 2).locator(".jupyter-widgets")).to_have_count(0)
    both_themes(page, cell(page, 2), "2-batch-progress")

    def saved(nb):
        outputs = json.dumps(nb["cells"][2].get("outputs", []))
        return "3/3" in outputs and "dataoorts-batch" in outputs

    nb = save(page, lab, name, saved)
    assert "application/vnd.jupyter.widget-view+json" not in json.dumps(nb["cells"][2]["outputs"])
    page.close()
    lab.delete_all_sessions()
    reopened = page.context.new_page()
    open_notebook(reopened, lab, name, f"batch-reopen-{secrets.token_hex(4)}")
    expect(cell(reopened, 2).locator(".dataoorts-progress")).to_contain_text("llama 3/3 · ")
    expect(cell(reopened, 2).locator(".dataoorts-batch")).to_be_visible()
    expect(reopened.get_by_text("Error displaying widget")).to_have_count(0)
    both_themes(reopened, cell(reopened, 2), "2-batch-reopened")


def test_the_panel_shows_a_cell_to_copy_puts_the_newest_answer_first_and_new_chat_clears(lab, page):
    from playwright.sync_api import expect

    name = "panel.ipynb"
    run_notebook(page, lab, name, notebook("%llama_panel"))
    panel = cell(page, 1).locator(".jp-OutputArea-output").first
    prompt = panel.locator('textarea[placeholder="Prompt"]')
    send = panel.locator("button.widget-button", has_text="Send")
    for question in ("What is a mean?", "And a median?"):
        prompt.fill(question)
        send.click()
        expect(panel.locator(".dataoorts-totals")).to_contain_text(f"Totals: {1 if 'mean' in question else 2} request")
    turns = panel.locator(".widget-output .dataoorts-prompt")
    expect(turns).to_have_count(2)
    expect(turns.first).to_have_text("You: And a median?")  # the newest first, right under Send
    gap = turns.first.evaluate(
        "(el, send) => el.getBoundingClientRect().top - send.getBoundingClientRect().bottom", send.element_handle()
    )
    assert 0 <= gap < 250, gap

    panel.locator("button.widget-button", has_text="Show as %%llama cell").click()
    box = panel.locator(".widget-textarea", has=page.locator("label", has_text="cell")).locator("textarea")
    expect(box).to_be_visible()
    expect(box).to_be_focused()  # so Ctrl+A, Ctrl+C copies the cell and nothing else
    expect(panel).to_contain_text("Ctrl+A then Ctrl+C")
    page.keyboard.press("Control+a")
    page.keyboard.press("Control+c")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == box.input_value() and copied.startswith("%%llama") and copied.endswith("And a median?"), copied
    both_themes(page, panel, "7-show-as-cell")

    panel.locator("button.widget-button", has_text="New chat").click()
    expect(box).to_be_hidden()
    expect(turns).to_have_count(0)
    prompt.fill("A fresh question")
    send.click()
    expect(panel.locator(".dataoorts-totals")).to_contain_text("Totals: 3 requests")
    both_themes(page, panel, "11-new-chat")
    nb = save(page, lab, name, lambda nb: "(3 answers;" in json.dumps(nb["cells"][1].get("outputs", [])))
    copy = json.dumps(nb["cells"][1]["outputs"])
    for text in ("What is a mean?", "And a median?", "New chat", "A fresh question"):
        assert text in copy, text
