"""axe-core (Deque's accessibility rules engine, from npm) run on our outputs in a JupyterLab page.

``scripts/test`` installs the npm package ``axe-core`` into ``.cache/npm`` of the repository when
it is missing; ``DATAOORTS_AXE_JS`` names another copy of ``axe.min.js``. :func:`violations`
injects it into the page (``add_script_tag``) and runs it on the given output nodes only, not
on JupyterLab's own chrome, and returns each violation with its impact and the nodes it found.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AXE_JS = Path(
    os.environ.get("DATAOORTS_AXE_JS") or REPO / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
)
SERIOUS = ("serious", "critical")

RUN = """async (selector) => {
  const nodes = [...document.querySelectorAll(selector)];
  if (!nodes.length) throw new Error('no node matches ' + selector);
  const found = [];
  for (const node of nodes) {  // one run per node: the context is that node and what is inside it
    const result = await axe.run(node, {resultTypes: ['violations']});
    for (const v of result.violations) found.push({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200),
                                summary: (n.failureSummary || '').slice(0, 300)}))});
  }
  return found;
}"""


def inject(page) -> None:
    assert AXE_JS.exists(), (
        f"{AXE_JS} is missing: scripts/test installs it (npm install --prefix .cache/npm axe-core), "
        "or set DATAOORTS_AXE_JS to an axe.min.js"
    )
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))


def violations(page, selector: str) -> list[dict]:
    """axe-core's violations inside every node that ``selector`` matches (each node a context of its own)."""
    inject(page)
    return page.evaluate(RUN, selector)


def serious(found: list[dict]) -> list[dict]:
    return [v for v in found if v["impact"] in SERIOUS]
