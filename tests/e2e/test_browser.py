"""The extension in a real JupyterLab, in Debian's Chromium, checked by what a person sees.

One JupyterLab (``lab_server.JupyterLab``) serves a temporary copy of ``notebooks/`` on
loopback for this module; each test gets its own browser context and workspace, and its
kernels are deleted afterwards. Screenshots of every step go to ``artifacts/screenshots/``.

- the quickstart, run with Run All: rendered heading, list, table and highlighted code,
  the usage footer, and the out-of-range temperature as one line;
- the panel: move the temperature slider, type a prompt, Send; another cell runs while the
  request is held at the endpoint, then the answer and its usage appear; its layout (one label
  column, full-width sliders, buttons at the row's end) in JupyterLab Light and Dark; saved,
  closed and reopened without widget state: the static transcript and no "model not found";
- --compare with four values: two columns to a row, nothing wider than the output;
- model output that is a corpus of XSS payloads (from a scripted loopback endpoint), run,
  saved and reopened: nothing executes either time, and the payloads are visible as text.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil

import nbformat
import pytest
from support.held_endpoint import HeldEndpoint
from support.lab_page import (
    REPO,
    chromium,
    code_cells,
    open_notebook,
    run_all,
    save,
    screenshot,
    set_theme,
    wait_until_cells_ran,
    wait_until_ran,
)
from support.lab_server import poll, running_lab

pytestmark = pytest.mark.slow  # JupyterLab in Chromium: seconds per test

ANSWER = ".jp-OutputArea-output .dataoorts-answer"
FOOTER_RE = re.compile(r"^meta/llama-3\.1-8b-instruct · \d+ → \d+ tokens · \$\d\.\d+ · \d+\.\d\d s · offline$")

# Every payload reports to the top window if it ever runs, from any frame or origin.
MARKER_HOOK = """
window.__xss = []; window.__control = [];
window.addEventListener('message', (e) => {
  const d = typeof e.data === 'string' ? e.data : '';
  if (d.startsWith('xss:')) window.__xss.push(d.slice(4));
  if (d.startsWith('ctl:')) window.__control.push(d.slice(4));
});
"""


def hit(name: str) -> str:
    return f"top.postMessage('xss:{name}','*')"


# One payload per paragraph (a lone '*' cannot start emphasis), as a model could write them.
XSS_PAYLOADS = [
    f"<script>{hit('script')}</script>",
    f'<img src="x" onerror="{hit("img")}">',
    f'<svg onload="{hit("svg")}"></svg>',
    f"<svg><script>{hit('svg-script')}</script></svg>",
    f'<iframe srcdoc="<script>{hit("srcdoc")}</script>"></iframe>',
    f'<iframe src="javascript:{hit("iframe-js")}"></iframe>',
    f'<iframe src="data:text/html,<script>{hit("iframe-data")}</script>"></iframe>',
    f'<object data="data:text/html,<script>{hit("object")}</script>"></object>',
    f'<embed src="data:text/html,<script>{hit("embed")}</script>">',
    f'<details open ontoggle="{hit("details")}"><summary>s</summary></details>',
    f'<body onload="{hit("body")}">',
    f'<input autofocus onfocus="{hit("input")}">',
    f'<video><source onerror="{hit("video")}"></video>',
    f'<style>@keyframes k {{}}</style><div style="animation-name:k" onanimationstart="{hit("animation")}"></div>',
    f'<noscript><p title="</noscript><img src=x onerror={hit("noscript")}>"></noscript>',
    f'<math><mtext><table><mglyph><style><img src=x onerror="{hit("mglyph")}">',
    f'<marquee onstart="{hit("marquee")}">m</marquee>',
    f'<meta http-equiv="refresh" content="0;url=javascript:{hit("meta")}">',
    f'<form action="javascript:{hit("form")}"><button>click me</button></form>',
    f'<a href="javascript:{hit("a-href")}">click me</a>',
    f'<a href="&#106;avascript:{hit("a-entity")}">click me</a>',
    f"[click me](javascript:{hit('md-link')})",
    f"[click me](&#106;avascript:{hit('md-entity')})",
    f"[click me](JaVaScRiPt:{hit('md-case')})",
    f'![x](x" onerror="{hit("md-img")})',
    f"<javascript:{hit('autolink')}>",
    f"$\\href{{javascript:{hit('mathjax')}}}{{click me}}$",
    f'`<img src=x onerror="{hit("inline-code")}">`',
    f'| a | b |\n|---|---|\n| cell | <img src=x onerror="{hit("table")}"> |',
    f"```html\n<script>{hit('fence')}</script>\n```",
]
XSS_CORPUS = "# Payloads\n\n" + "\n\n".join(XSS_PAYLOADS) + "\n"
SHOWN_AS_TEXT = [XSS_PAYLOADS[0], XSS_PAYLOADS[1], XSS_PAYLOADS[2], XSS_PAYLOADS[9]]
# A control output that *does* run (JupyterLab trusts outputs of the session and of notebooks it
# saved): it proves the marker hook works on the first run and again on reopening.
CONTROL = "<div class='xss-control'>control <img src='data:,' onerror=\"top.postMessage('ctl:ran','*')\"></div>"
# Anything live in an answer: elements that run or load code, handler attributes, script URLs.
DOM_CHECK = """() => {
  const bad = [];
  const outputs = [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')]
    .filter(o => !o.querySelector('.xss-control'));
  const tags = 'script,iframe,object,embed,frame,frameset,meta,base,link,form,input,button,textarea,'
             + 'select,svg,math,video,audio,source,details,marquee,noscript,template';
  for (const out of outputs) {
    for (const el of out.querySelectorAll(tags)) if (!el.closest('mjx-container')) bad.push('<' + el.localName + '>');
    for (const el of out.querySelectorAll('*')) for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      if (name.startsWith('on') || name === 'srcdoc') bad.push(el.localName + ' ' + a.name);
      if (['href', 'src', 'action', 'formaction', 'xlink:href', 'data'].includes(name)) {
        let scheme;  // the scheme the browser would use, after its own URL parsing
        try { scheme = new URL(a.value, document.baseURI).protocol; } catch (e) { scheme = 'invalid'; }
        if (!['http:', 'https:', 'mailto:', 'invalid'].includes(scheme))
          bad.push(el.localName + ' ' + a.name + '=' + a.value);
      }
    }
  }
  return bad;
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-root")
    shutil.copytree(REPO / "notebooks", root, dirs_exist_ok=True)
    private = tmp_path_factory.mktemp("lab-private")
    env = {"DATAOORTS_MAGIC_HOME": str(private / "dataoorts-home")}
    with running_lab(root, private, REPO / "artifacts" / "jupyterlab.log", env) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def new_page(browser, lab):
    """Pages in fresh browser contexts, each with the XSS marker hooked before any page script runs.

    Afterwards the contexts are closed and the test's sessions deleted (kernels outlive pages)."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        context.add_init_script(MARKER_HOOK)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    lab.delete_all_sessions()


def workspace(name: str) -> str:
    return f"{name}-{secrets.token_hex(4)}"


def show(locator, block: str = "start") -> None:
    """Scroll ``locator`` into view (its top at the top, or centred), as a reader would, for a screenshot."""
    locator.evaluate("(el, block) => el.scrollIntoView({block})", block)
    locator.page.wait_for_function(
        "el => el.getBoundingClientRect().top < window.innerHeight", arg=locator.element_handle()
    )


def visible_text(locator) -> str:
    """The text as rendered (innerText), once scrolled into view: skipped off-screen content has none."""
    locator.scroll_into_view_if_needed()
    locator.page.wait_for_function("el => el.innerText.trim() !== ''", arg=locator.element_handle())
    return " ".join(locator.inner_text().split())


def test_quickstart_run_all_shows_rendered_answers_footer_and_one_line_error(lab, new_page):
    from playwright.sync_api import expect

    page = new_page()
    open_notebook(page, lab, "quickstart.ipynb", workspace("quickstart"))
    screenshot(page, "quickstart-1-opened")
    run_all(page)
    wait_until_cells_ran(page, code_cells(lab.root_dir / "quickstart.ipynb"))  # -f code adds a cell, not run
    answers = page.locator(ANSWER)
    expect(answers.nth(3)).to_be_attached()  # the first cell, the options, the variables, the code
    first = answers.first
    show(first.locator("xpath=ancestor::div[contains(@class, 'jp-CodeCell')]"))
    expect(first.locator("h2")).to_be_visible()  # the offline endpoint varies its wording
    assert visible_text(first.locator("h2"))
    expect(first.locator("ul > li").first).to_be_visible()
    assert "max_tokens: 512" in visible_text(first.locator("ul"))
    table = first.locator("table")
    expect(table.locator("th").first).to_have_text("word")
    expect(table.locator("tbody tr").first).to_be_visible()
    # Highlighted: a comment in the code block is coloured unlike the code around it.
    code = first.locator(".codehilite pre")
    expect(code).to_contain_text("print(")
    comment_colour = code.locator(".c1").first.evaluate("el => getComputedStyle(el).color")
    plain_colour = code.evaluate("el => getComputedStyle(el).color")
    assert comment_colour != plain_colour
    footer = first.locator("xpath=following-sibling::div[contains(@class, 'dataoorts-footer')]")
    expect(footer).to_be_visible()
    assert FOOTER_RE.match(visible_text(footer)), visible_text(footer)
    screenshot(page, "quickstart-2-first-answer")

    error_cell = page.locator(".jp-NotebookPanel .jp-CodeCell").last
    error = error_cell.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    expect(error).to_have_count(1)
    show(error_cell, "center")
    error_text = error.inner_text().strip()
    assert error_text.startswith("UsageError: temperature=9 "), error_text
    assert "\n" not in error_text and "Traceback" not in error_text
    expect(error_cell.locator(".jp-OutputArea-output")).to_have_count(1)  # no traceback, nothing else
    screenshot(page, "quickstart-3-error")


def endpoint_notebook(url: str, key: str, *sources: str):
    """A notebook whose first cell points the client at ``url`` with ``key`` and loads the extension."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    setup = (
        f'import os\nos.environ["DATAOORTS_API_URL"] = "{url}"\nos.environ["DATAOORTS_API_KEY"] = "{key}"\n'
        "%load_ext dataoorts_magic"
    )
    nb.cells = [nbformat.v4.new_code_cell(source) for source in (setup, *sources)]
    return nb


def xss_notebook(url: str, key: str):
    return endpoint_notebook(
        url,
        key,
        "%%llama\nShow me the corpus.",
        "%%llama -f text\nShow me the corpus verbatim.",
        "%%llama -f code\nShow me the first code block.",
        "%%llama -o ans -q\nKeep the corpus.",
        "# the text/markdown part of the answer on its own: JupyterLab renders raw HTML inside Markdown\n"
        "display({'text/markdown': ans._repr_mimebundle_()[0]['text/markdown']}, raw=True)",
        f"from IPython.display import HTML\nHTML({CONTROL!r})",
        "%%llama\nAnd now fail.",
    )


def xss_answer(corpus: str) -> dict:
    usage = {"prompt_tokens": 12, "completion_tokens": 900, "total_tokens": 912}
    return {
        "body": json.dumps(
            {"errors": [], "messages": [], "success": True, "result": {"response": corpus, "usage": usage}}
        ),
        "status": 200,
        "content_type": "application/json",
    }


def check_nothing_ran(page, phase: str, key: str) -> None:
    from playwright.sync_api import expect

    answers = page.locator(ANSWER)
    expect(answers).to_have_count(2)  # the Markdown answer and the -f code one (-f text is a <pre>)
    page.wait_for_function("() => window.__control.includes('ran')")  # the control output did run
    for link in page.locator(".jp-OutputArea-output a", has_text="click me").all():
        link.click()  # what a curious reader does
    # Messages are delivered in order: once this one arrives, any earlier payload's has too.
    page.evaluate("() => window.postMessage('ctl:sentinel', '*')")
    page.wait_for_function("() => window.__control.includes('sentinel')")
    assert page.evaluate("() => window.__xss") == [], phase
    live = page.evaluate(DOM_CHECK)
    assert live == [], (phase, live)
    assert "/lab/workspaces/" in page.url

    markdown_answer = visible_text(answers.nth(0))
    for payload in SHOWN_AS_TEXT:
        assert payload in markdown_answer, (phase, payload)
    text_answer = visible_text(page.locator(".jp-OutputArea-output pre.dataoorts-text"))
    assert " ".join(XSS_CORPUS.split()) in text_answer, phase
    assert f"<script>{hit('fence')}</script>" in visible_text(answers.nth(1))
    markdown_only = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(6).locator(".jp-RenderedMarkdown")
    assert XSS_PAYLOADS[1] in visible_text(markdown_only), phase
    error = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    expect(error).to_contain_text("<img src=x onerror=")
    outputs_text = " ".join(page.locator(".jp-OutputArea").all_inner_texts())
    assert key not in outputs_text


def test_xss_answer_runs_nothing_live_or_after_save_and_reopen(lab, new_page):
    from playwright.sync_api import expect

    from dataoorts_magic.offline.server import OfflineServer

    key = "sk-test-" + secrets.token_hex(8)
    failure = {
        "body": json.dumps(
            {
                "success": False,
                "result": None,
                "messages": [],
                "errors": [{"code": 5006, "message": f'<img src=x onerror="{hit("error")}"> is not allowed'}],
            }
        ),
        "status": 400,
        "content_type": "application/json",
    }
    script = [xss_answer(XSS_CORPUS)] * 4 + [failure]
    name = "xss.ipynb"
    with OfflineServer(api_key=key, script=script).start() as endpoint:
        nbformat.write(xss_notebook(endpoint.url, key), lab.root_dir / name)
        page = new_page()
        open_notebook(page, lab, name, workspace("xss"))
        run_all(page)
        wait_until_cells_ran(page, code_cells(lab.root_dir / name))  # -f code adds a cell, not run
        assert endpoint.count == 5
        check_nothing_ran(page, "live", key)
        show(page.locator(".jp-NotebookPanel .jp-CodeCell").nth(1))
        screenshot(page, "xss-1-live")
        # The -f code cell (3) put its code block into a new cell below (4), as text, not run.
        inserted = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(4)
        show(inserted, "center")  # CodeMirror draws only what is on screen
        expect(inserted.locator(".jp-InputArea-editor .cm-content")).to_have_text(f"<script>{hit('fence')}</script>")
        expect(inserted.locator(".jp-OutputArea-output")).to_have_count(0)
        with_outputs = (1, 2, 3, 6, 7, 8)  # all but the set-up, the new cell and the quiet -o cell
        save(page, lab, name, lambda nb: all(nb["cells"][i].get("outputs") for i in with_outputs))
        page.close()

        # A new page loads the saved file from disk (its session and kernel carry on, as after a reload).
        reopened = page.context.new_page()
        open_notebook(reopened, lab, name, workspace("xss-reopen"))
        check_nothing_ran(reopened, "reopened", key)
        show(reopened.locator(".jp-NotebookPanel .jp-CodeCell").nth(1))
        screenshot(reopened, "xss-2-reopened")
        show(reopened.locator(".jp-NotebookPanel .jp-CodeCell").nth(6))
        screenshot(reopened, "xss-3-reopened-markdown-part")
        show(reopened.locator(".jp-NotebookPanel .jp-CodeCell").nth(7))
        screenshot(reopened, "xss-4-reopened-control-and-error")


def panel_notebook(url: str, key: str):
    return endpoint_notebook(url, key, "%llama_panel", 'print("the kernel answers:", 6 * 7)')


def run_cell(page, index: int) -> None:
    """Click into a code cell and press Shift+Enter, as a person runs one cell."""
    cell = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def test_panel_sends_with_the_slider_value_while_the_kernel_stays_usable(lab, new_page):
    from playwright.sync_api import expect

    from dataoorts_magic.offline.server import OfflineServer

    key = "sk-test-" + secrets.token_hex(8)
    name = "panel.ipynb"
    # The endpoint holds the panel's request until the other cell has run, then answers it.
    with OfflineServer(api_key=key).start() as offline, HeldEndpoint(offline.url) as endpoint:
        nbformat.write(panel_notebook(endpoint.url, key), lab.root_dir / name)
        page = new_page()
        open_notebook(page, lab, name, workspace("panel"))
        run_cell(page, 0)
        wait_until_ran(page, 1)
        run_cell(page, 1)
        panel = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(1).locator(".jp-OutputArea-output").first
        prompt = panel.locator('textarea[placeholder="Prompt"]')
        expect(prompt).to_be_visible()
        screenshot(page, "panel-1-opened")

        slider = panel.locator(".widget-slider", has=page.locator("label", has_text=re.compile("^temperature$")))
        readout = slider.locator(".widget-readout")
        expect(readout).to_have_text("0.60")  # the documented default, not sent until moved
        handle = slider.locator(".noUi-handle")
        handle.focus()
        for _ in range(10):
            handle.press("ArrowRight")
        expect(readout).to_have_text("0.70")
        temperature_set = slider.locator("xpath=..").locator(".widget-checkbox input")
        expect(temperature_set).to_be_checked()  # moving it means: send this value
        prompt.click()
        prompt.press_sequentially("Why do we standardise variables?")
        screenshot(page, "panel-2-slider-and-prompt")

        send = panel.locator("button.widget-button", has_text="Send")
        send.click()
        busy = panel.locator("button.widget-button", has_text="Sending")
        expect(busy).to_be_disabled()
        poll(lambda: endpoint.held == 1, 30, "the panel's request to reach the endpoint")
        run_cell(page, 2)  # while the answer is on its way
        other = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(2).locator(".jp-OutputArea-output")
        expect(other).to_have_text("the kernel answers: 42")
        assert endpoint.held == 1 and offline.count == 0  # still in flight: the kernel ran a cell meanwhile
        expect(busy).to_be_disabled()
        screenshot(page, "panel-3-busy-and-another-cell-ran")

        endpoint.release()
        answer = panel.locator(".widget-output .dataoorts-answer")
        expect(answer).to_be_visible()
        assert "temperature: 0.7" in visible_text(answer.locator("ul"))
        footer = panel.locator(".widget-output .dataoorts-footer")
        assert re.match(
            r"^meta/llama-3\.1-8b-instruct · \d+ → \d+ tokens · \$\d\.\d+ · \d+\.\d\d s$", visible_text(footer)
        ), visible_text(footer)
        expect(panel.locator(".dataoorts-totals")).to_contain_text("Totals: 1 request ·")
        expect(send).to_be_enabled()
        assert offline.requests[-1]["body"]["data"]["temperature"] == 0.7
        show(answer)
        screenshot(page, "panel-4-answer")

        panel.locator("button.widget-toggle-button", has_text="Advanced").click()
        expect(panel.locator(".widget-slider", has=page.locator("label", has_text="presence_penalty"))).to_be_visible()
        check_panel_layout(panel)
        show(panel)
        screenshot(page, "panel-5-layout-light")
        set_theme(page, "JupyterLab Dark")
        try:
            check_panel_layout(panel)
            screenshot(page, "panel-6-layout-dark")
        finally:
            set_theme(page, "JupyterLab Light")  # the module's other tests run in the default theme

        # Saved, closed, reopened with a new kernel: the widget state is not saved (JupyterLab's default).
        save(page, lab, name, lambda nb: "(1 answer;" in json.dumps(nb["cells"][1].get("outputs", [])))
        page.close()
        lab.delete_all_sessions()
        reopened = page.context.new_page()
        open_notebook(reopened, lab, name, workspace("panel-reopen"))
        cell = reopened.locator(".jp-NotebookPanel .jp-CodeCell").nth(1)
        dead = cell.locator(".jp-OutputArea-output.jupyter-widgets")  # what the widget manager left
        expect(dead).to_have_text("Error displaying widget: model not found")  # it looked, and gave up
        expect(dead).to_be_hidden()
        expect(reopened.get_by_text("Error displaying widget")).to_be_hidden()
        summary = cell.locator(".dataoorts-panel-transcript summary")
        expect(summary).to_contain_text("panel transcript (1 answer; a static copy for the saved notebook")
        expect(summary.locator(".dataoorts-reopen-hint")).to_be_visible()
        summary.click()
        expect(cell.locator(".dataoorts-prompt")).to_have_text("You: Why do we standardise variables?")
        expect(cell.locator(".dataoorts-panel-transcript .dataoorts-answer")).to_be_visible()
        show(cell)
        screenshot(reopened, "panel-7-reopened-without-widget-state")


PANEL_BOXES = """panel => {
  const box = el => { const b = el.getBoundingClientRect(); return {left: b.left, right: b.right, width: b.width}; };
  const all = sel => [...panel.querySelectorAll(sel)].filter(el => el.offsetParent !== null).map(box);
  const labelled = '.widget-slider, .widget-text, .widget-textarea, .widget-dropdown';
  return {
    panel: box(panel.querySelector('.widget-vbox')),
    labels: [...panel.querySelectorAll(labelled)].filter(el => el.offsetParent !== null)
              .map(el => box(el.querySelector(':scope > .widget-label'))),
    tracks: all('.widget-slider .slider-container'),
    seed: box([...panel.querySelectorAll('.widget-text')].find(el => el.textContent.includes('seed'))
              .querySelector('input')),
    seedSet: box([...panel.querySelectorAll('.widget-hbox')].find(r => r.textContent.startsWith('seed'))
              .querySelector('.widget-checkbox input')),
    buttons: Object.fromEntries([...panel.querySelectorAll('button.widget-button')]
              .map(b => [b.textContent.trim(), box(b)])),
    select: box(panel.querySelector('.widget-dropdown select')),
  };
}"""


def check_panel_layout(panel) -> None:
    """What issue 13 asked: one label column, sliders as wide as the panel allows, a gap between
    seed's field and its "set" toggle, New chat and Copy grouped at the row's end."""
    boxes = panel.evaluate(PANEL_BOXES)
    rights = {round(b["right"]) for b in boxes["labels"]}
    assert len(boxes["labels"]) == 11 and len(rights) == 1, boxes["labels"]  # Advanced rows included
    assert all(t["width"] > boxes["panel"]["width"] / 2 for t in boxes["tracks"]), boxes["tracks"]
    assert boxes["seedSet"]["left"] - boxes["seed"]["right"] >= 8, (boxes["seed"], boxes["seedSet"])
    buttons = boxes["buttons"]
    assert abs(buttons["Show as %%llama cell"]["right"] - boxes["select"]["right"]) <= 4, buttons
    assert 0 <= buttons["Show as %%llama cell"]["left"] - buttons["New chat"]["right"] <= 8, buttons
    assert buttons["New chat"]["left"] > boxes["panel"]["left"] + boxes["panel"]["width"] / 2, buttons


COMPARE_BOXES = """out => {
  const grid = out.querySelector('.dataoorts-compare');
  const columns = [...grid.children].map(c => { const b = c.getBoundingClientRect(); return [b.top, b.left]; });
  return {columns, grid: [grid.scrollWidth, grid.clientWidth], output: [out.scrollWidth, out.clientWidth]};
}"""


def test_compare_with_four_values_wraps_two_to_a_row_and_never_scrolls_sideways(lab, new_page):
    from playwright.sync_api import expect

    name = "compare.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(source)
        for source in (
            "%load_ext dataoorts_magic\n%llama_config --offline",
            "%%llama --compare temperature=0,0.5,1,1.5\nWrite a haiku about tidy data.",
            "%%llama --compare seed=1,2,3\nWrite a haiku about tidy data.",
        )
    ]
    nbformat.write(nb, lab.root_dir / name)
    page = new_page()
    open_notebook(page, lab, name, workspace("compare"))
    run_all(page)
    wait_until_ran(page)
    cells = page.locator(".jp-NotebookPanel .jp-CodeCell")
    four, three = (
        cells.nth(i).locator(".jp-OutputArea-output", has=page.locator(".dataoorts-compare")) for i in (1, 2)
    )
    expect(four.locator(".dataoorts-answer")).to_have_count(4)
    boxes = four.evaluate(COMPARE_BOXES)
    rows = sorted({round(top) for top, _ in boxes["columns"]})
    assert len(rows) == 2 and [round(top) for top, _ in boxes["columns"]].count(rows[0]) == 2, boxes
    assert boxes["grid"][0] <= boxes["grid"][1] and boxes["output"][0] <= boxes["output"][1], (
        boxes
    )  # no sideways scroll
    show(four)
    screenshot(page, "compare-1-four-values-light")
    set_theme(page, "JupyterLab Dark")
    try:
        screenshot(page, "compare-2-four-values-dark")
    finally:
        set_theme(page, "JupyterLab Light")
    expect(three.locator(".dataoorts-answer")).to_have_count(3)
    boxes = three.evaluate(COMPARE_BOXES)
    assert len({round(top) for top, _ in boxes["columns"]}) == 1, boxes  # three still side by side
    assert boxes["grid"][0] <= boxes["grid"][1], boxes
