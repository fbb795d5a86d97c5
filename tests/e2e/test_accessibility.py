"""Answers everyone can read: axe-core on our outputs in JupyterLab Light and Dark, and the panel by keyboard.

One JupyterLab for this module serves a generated notebook run against the bundled offline
endpoint: an answer with a table, code and math, the panel, a ``--compare`` grid, a batch table
and a history transcript. axe-core (``support.axe``) runs on each of those outputs only (not on
JupyterLab's own chrome), in each theme: no violation of impact serious or critical. The counts
of every impact are written to ``artifacts/axe-<theme>.json`` for the record.

The panel from the keyboard alone: Tab reaches every control in reading order, each has a name
a screen reader announces (axe's rules check that), a focused control shows a visible focus
ring (its look changes when focused), and Enter on Send sends.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter

import nbformat
import pytest
from support import lab_page
from support.axe import inject, serious, violations
from support.lab_page import REPO, chromium, open_notebook, run_all, screenshot, wait_until_ran
from support.lab_server import running_lab

pytestmark = pytest.mark.slow  # JupyterLab in Chromium: seconds per test

CELLS = [
    ("setup", "%load_ext dataoorts_magic\n%llama_config --offline"),
    ("answer", "%%llama --seed 1\nShow a table, some code and Euler's identity $e^{i\\pi} + 1 = 0$."),
    ("panel", "%llama_panel"),
    ("compare", "%%llama --compare temperature=0,0.7 --seed 1\nWrite a haiku about tidy data."),
    ("items", "plants = ['fern', 'cactus', 'ivy']"),
    ("batch", "%%llama --over plants -o care\nHow often should I water a {item}?"),
    ("chat1", "%%llama -c tutor -q -o first\nWhat is a mean?"),
    ("chat2", "%%llama -c tutor -q -o second\nAnd a median?"),
    ("history", "%llama_history tutor"),
]
CHECKED = ("answer", "panel", "compare", "batch", "history")
TAG = """(kinds) => kinds.forEach((kind, i) => {
  const cell = document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')[i];
  if (kind) cell.querySelectorAll('.jp-OutputArea-output').forEach(o => o.dataset.a11y = kind);
})"""
# Controls a keyboard user can reach in the panel, in document (reading) order.
FOCUSABLE = """panel => [...panel.querySelectorAll(
    'button, input, select, textarea, [tabindex]:not([tabindex="-1"]), [contenteditable="true"]')]
  .filter(el => !el.disabled && el.offsetParent !== null && (el.tabIndex >= 0 || el.isContentEditable))"""
# The name a screen reader announces for each element, as axe-core computes it (over its own tree).
ACCESSIBLE_NAMES = """els => { axe.setup(document);
  try { return els.map(el => axe.commons.text.accessibleTextVirtual(axe.utils.getNodeFromTree(el)).trim()); }
  finally { axe.teardown(); } }"""
# How an element looks, in what a focus ring may change; compared focused and not focused.
LOOK = """el => { const s = getComputedStyle(el);
  return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.borderColor, s.backgroundColor]
    .join(' | '); }"""


def a11y_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for _, source in CELLS]
    return nb


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root, private = tmp_path_factory.mktemp("a11y-root"), tmp_path_factory.mktemp("a11y-private")
    log = REPO / "artifacts" / "jupyterlab-a11y.log"
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


def run(page, lab, theme: str):
    name = f"a11y-{theme}.ipynb"
    nbformat.write(a11y_notebook(), lab.root_dir / name)
    open_notebook(page, lab, name, f"a11y-{theme}-{secrets.token_hex(4)}")
    page.wait_for_function("(theme) => document.body.dataset.jpThemeName === theme", arg=f"JupyterLab {theme.title()}")
    run_all(page)
    wait_until_ran(page)
    page.locator(".jp-OutputArea-output .widget-button", has_text="Send").wait_for()
    page.locator(".jp-OutputArea-output .dataoorts-batch").wait_for()
    page.evaluate(TAG, [kind if kind in CHECKED else None for kind, _ in CELLS])


def record(theme: str, found: dict) -> None:
    counts = {kind: dict(Counter(v["impact"] for v in vs)) for kind, vs in found.items()}
    path = REPO / "artifacts" / f"axe-{theme}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"counts": counts, "violations": found}, indent=2))


def test_our_outputs_have_no_serious_axe_violation_in_either_theme(lab, themed_page):
    page, theme = themed_page
    run(page, lab, theme)
    found = {kind: violations(page, f'[data-a11y="{kind}"]') for kind in CHECKED}
    record(theme, found)
    for kind in CHECKED:
        page.locator(f'[data-a11y="{kind}"]').first.scroll_into_view_if_needed()
        screenshot(page, f"a11y-{theme}-{kind}")
    bad = {kind: [(v["id"], v["impact"], v["nodes"][:2]) for v in serious(vs)] for kind, vs in found.items()}
    assert not any(bad.values()), json.dumps(bad, indent=1)


def test_the_panel_works_from_the_keyboard_alone(lab, themed_page):
    from playwright.sync_api import expect

    page, theme = themed_page
    run(page, lab, theme)
    panel = page.locator('[data-a11y="panel"]').first
    panel.scroll_into_view_if_needed()
    order = panel.evaluate_handle(FOCUSABLE)
    count = order.evaluate("els => els.length")
    assert count >= 12, count  # model, system, prompt, the parameters and their toggles, the buttons
    order.evaluate("els => els[0].focus()")
    for i in range(1, count):
        page.keyboard.press("Tab")
        assert order.evaluate("(els, i) => document.activeElement === els[i]", i), (
            i,
            page.evaluate("() => document.activeElement.outerHTML.slice(0, 200)"),
        )
        focused = page.evaluate(f"() => ({LOOK})(document.activeElement)")
        unfocused = order.evaluate(f"(els, i) => {{ els[i].blur(); return ({LOOK})(els[i]); }}", i)
        order.evaluate("(els, i) => els[i].focus()", i)
        assert focused != unfocused, (i, focused, page.evaluate("() => document.activeElement.outerHTML.slice(0, 200)"))
    inject(page)  # axe-core's own computation of the name a screen reader announces
    names = order.evaluate(ACCESSIBLE_NAMES)
    assert all(names) and len(names) == count, names
    for param in ("temperature", "top_p"):
        assert f"set {param}" in names, json.dumps(names)  # each toggle says which parameter it sends
    assert "temperature" in names and "Send" in names, names
    prompt = panel.locator(".widget-textarea textarea").nth(1)
    prompt.focus()
    page.keyboard.type("Why do we standardise variables?")
    send = panel.locator(".widget-button", has_text="Send")
    send.focus()
    screenshot(page, f"a11y-{theme}-panel-send-focused")
    page.keyboard.press("Enter")
    expect(panel.locator(".dataoorts-answer").first).to_be_visible()
    expect(panel.locator(".dataoorts-totals")).to_contain_text("Totals: 1 request ·")
    screenshot(page, f"a11y-{theme}-panel-answered")
