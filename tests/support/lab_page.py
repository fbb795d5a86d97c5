"""What a person does in a JupyterLab page, as Playwright steps that wait for what they wait for.

Open a notebook in its own workspace and wait until its kernel is really ready (the status
bar says Idle, and ``/api/sessions`` shows the same kernel idle and connected for a second:
on first load a second kernel can replace the first, and a Run All during the swap stops
after one cell); run all cells from the Run menu and wait until every code cell has an
execution count; save with Ctrl+S and wait until the tab is clean and the file on disk has
the outputs; take a screenshot into ``artifacts/screenshots``. No fixed sleeps anywhere:
every wait is for a condition, with a timeout that fails the test.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from support.lab_server import JupyterLab, poll

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
KERNEL_TIMEOUT_S = 60.0
RUN_TIMEOUT_MS = 60_000
STABLE_FOR_S = 1.0

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium():
    """Debian's Chromium, launched by Playwright (which cannot download its own here), closed afterwards."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: scripts/test installs Debian's chromium package"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def open_notebook(page, lab: JupyterLab, notebook: str, workspace: str) -> None:
    """Open ``notebook`` (relative to the server's root) in a fresh workspace; return once its kernel is ready."""
    page.goto(lab.page_url(notebook, workspace))
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(state="attached", timeout=KERNEL_TIMEOUT_S * 1000)
    wait_kernel_ready(page, lab, notebook)


def wait_kernel_ready(page, lab: JupyterLab, notebook: str) -> str:
    """Wait for the status bar's ``| Idle`` and for one kernel, idle and connected, stable for a second."""
    page.wait_for_function(
        """() => { const bar = document.querySelector('#jp-main-statusbar');
                   return bar && bar.textContent.includes('| Idle') && !bar.textContent.includes('No Kernel'); }""",
        timeout=KERNEL_TIMEOUT_S * 1000,
    )
    seen = {"id": None, "since": 0.0}

    def stable_kernel():
        kernels = [s["kernel"] for s in lab.sessions() if s.get("path") == notebook and s.get("kernel")]
        ready = [k for k in kernels if k["execution_state"] == "idle" and k.get("connections", 0) >= 1]
        if len(kernels) != 1 or not ready:
            seen["id"] = None
            return None
        now = time.monotonic()
        if ready[0]["id"] != seen["id"]:
            seen.update(id=ready[0]["id"], since=now)
        return seen["id"] if now - seen["since"] >= STABLE_FOR_S else None

    return poll(stable_kernel, KERNEL_TIMEOUT_S, f"one idle, connected kernel for {notebook}")


THEME_PLUGIN = "@jupyterlab/apputils-extension:themes"


@contextlib.contextmanager
def themed_page(browser, lab: JupyterLab, theme: str):
    """(page, "light"/"dark") in a fresh browser context, JupyterLab set to ``theme`` first (its settings
    API, as the menu does); afterwards the context is closed, the sessions deleted, Light restored."""
    answer = lab.api("put", f"/lab/api/settings/{THEME_PLUGIN}", json={"raw": json.dumps({"theme": theme})})
    assert answer.status_code in (200, 204), answer.text
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(60_000)
    try:
        yield context.new_page(), theme.split()[-1].lower()
    finally:
        context.close()
        lab.delete_all_sessions()
        lab.api("put", f"/lab/api/settings/{THEME_PLUGIN}", json={"raw": json.dumps({"theme": "JupyterLab Light"})})


def set_theme(page, theme: str) -> None:
    """Settings > Theme > ``theme``, as a person switches it; wait until the page has it."""
    page.locator('.lm-MenuBar-itemLabel:text-is("Settings")').click()
    page.locator('.lm-Menu-itemLabel:text-is("Theme")').hover()
    page.locator(f'.lm-Menu-itemLabel:text-is("{theme}")').click()
    page.wait_for_function("theme => document.body.dataset.jpThemeName === theme", arg=theme)
    # JupyterLab covers the page with its splash while the theme loads: a screenshot must wait it out.
    page.wait_for_selector("#jupyterlab-splash", state="detached")


def run_all(page) -> None:
    page.locator('.lm-MenuBar-itemLabel:text-is("Run")').click()
    page.locator('.lm-Menu-itemLabel:text-is("Run All Cells")').click()


def wait_until_ran(page, count: int | None = None) -> None:
    """Wait until the first ``count`` code cells (all by default) show an execution count and the kernel is idle."""
    page.wait_for_function(
        """(count) => {
             const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')];
             const wanted = count === null ? prompts : prompts.slice(0, count);
             const bar = document.querySelector('#jp-main-statusbar');
             return wanted.length > 0 && wanted.every(p => /\\[\\d+\\]/.test(p.textContent))
                    && bar && bar.textContent.includes('| Idle');
           }""",
        arg=count,
        timeout=RUN_TIMEOUT_MS,
    )


def wait_until_cells_ran(page, ran: int) -> None:
    """Wait until ``ran`` code cells show an execution count and the kernel is idle: for a Run All during
    which ``%%llama -f code`` inserts new cells, which are not run (so not every cell gets a count)."""
    page.wait_for_function(
        """(ran) => {
             const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')];
             const bar = document.querySelector('#jp-main-statusbar');
             return prompts.filter(p => /\\[\\d+\\]/.test(p.textContent)).length >= ran
                    && bar && bar.textContent.includes('| Idle');
           }""",
        arg=ran,
        timeout=RUN_TIMEOUT_MS,
    )


def code_cells(path) -> int:
    """How many code cells the notebook file at ``path`` has."""
    return sum(cell["cell_type"] == "code" for cell in json.loads(Path(path).read_text())["cells"])


def save(page, lab: JupyterLab, notebook: str, saved) -> dict:
    """Ctrl+S, then wait until the tab is no longer dirty and ``saved(nb_json)`` holds for the file on disk."""
    page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "() => document.querySelector('.lm-TabBar-tab.jp-mod-current') &&"
        " !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')",
        timeout=RUN_TIMEOUT_MS,
    )
    path = lab.root_dir / notebook

    def on_disk():
        try:
            nb = json.loads(path.read_text())
        except ValueError:
            return None
        return nb if saved(nb) else None

    return poll(on_disk, RUN_TIMEOUT_MS / 1000, f"{notebook} saved with its outputs")
