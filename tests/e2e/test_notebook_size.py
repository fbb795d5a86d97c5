"""What an answer adds to a saved notebook: a one-line answer at most 2,000 bytes, code costs only its rules.

A notebook is executed by nbclient against a scripted loopback endpoint and written as Jupyter
writes it (nbformat, one-space indent); the bytes of its outputs are what the answer adds. The
old renderer carried a 5.8 KB Pygments stylesheet in every answer (6,841 bytes for an "ok").
"""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient
from support.scripted_server import ScriptedServer, ok
from support.shell import KEY

ONE_LINE = "Yes: the median is the middle value of the sorted data."
WITH_CODE = "Use this:\n\n```python\nimport statistics\nprint(statistics.median([3, 1, 2]))  # 2\n```\n"


def saved_output_bytes(answer: str, tmp_path) -> tuple[int, list]:
    """Bytes the answer's outputs add to the saved notebook, and those outputs."""
    with ScriptedServer() as server:
        server.script(ok(answer))
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        setup = (
            f"import os\nos.environ.update(DATAOORTS_API_URL={server.url!r}, DATAOORTS_API_KEY={KEY!r}, "
            f"DATAOORTS_MAGIC_HOME={str(tmp_path)!r})\n%load_ext dataoorts_magic"
        )
        nb.cells = [nbformat.v4.new_code_cell(setup), nbformat.v4.new_code_cell("%%llama\nIs the median the middle?")]
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    cell = nb.cells[1]
    assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
    shown, with_outputs = cell.outputs, len(nbformat.writes(nb).encode())
    cell.outputs = []
    return with_outputs - len(nbformat.writes(nb).encode()), shown


def test_a_one_line_answer_adds_at_most_2000_bytes(tmp_path):
    added, _ = saved_output_bytes(ONE_LINE, tmp_path)
    assert 0 < added <= 2000, added


def test_an_answer_with_code_carries_only_the_rules_it_uses(tmp_path):
    _, shown = saved_output_bytes(WITH_CODE, tmp_path)
    html = shown[0]["data"]["text/html"]
    style = html[: html.index("</style>")]
    rules = {rule.split("{")[0].rsplit(" ", 1)[1] for rule in style.removeprefix("<style>").split("}") if "{" in rule}
    assert rules == {"pre", "code", ".kn", ".nb", ".mi", ".c1"}, rules
    assert len(style) < 1000, len(style)
