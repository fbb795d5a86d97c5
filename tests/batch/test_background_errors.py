"""Issue 19, failure 11: an error of a background batch lands in the batch's own display and ``.error``.

A Series whose index labels cannot be made text (``str`` raises) used to put two RuntimeError
tracebacks into whatever cell ran when the batch ended. A real kernel (nbclient), the endpoint
holding every request until the test lets go, so "the cell that runs when it ends" is a fact.
"""

from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient
from support.shell import KEY

SETUP = """\
%load_ext dataoorts_magic
%xmode Verbose
%llama_config rate_limit=0
import pandas as pd
class Bad:
    def __str__(self):
        raise RuntimeError("this label cannot be text")
    __repr__ = __str__
ser = pd.Series(["a", "b"], index=[Bad(), Bad()])
"""


def test_failure_11_a_background_error_stays_in_its_own_display(endpoint_held, monkeypatch, tmp_path):
    monkeypatch.setenv("DATAOORTS_MAGIC_HOME", str(tmp_path))
    endpoint_held.reset(answer_first=0)
    cells = [
        SETUP,
        "%%llama --over ser -b -o S\nSay {item}",
        "print('another cell')",
        "S.wait(60)\nprint(S.done)",
        "print(type(S.error).__name__ if S.error else 'no error', len(S.responses))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    with client.setup_kernel():
        for index in range(3):
            client.execute_cell(nb.cells[index], index)
        endpoint_held.release()
        client.execute_cell(nb.cells[3], 3)
        client.execute_cell(nb.cells[4], 4)
    assert "".join(o.get("text", "") for o in nb.cells[2].outputs) == "another cell\n"
    assert [o.get("text") for o in nb.cells[3].outputs] == ["True\n"]  # no traceback in the cell running then
    assert [o["output_type"] for o in nb.cells[1].outputs] == ["display_data"]  # the batch's own display
    shown = json.dumps([c.outputs for c in nb.cells])
    assert "Traceback" not in shown and KEY not in shown
    final = nb.cells[1].outputs[0]["data"]["text/plain"]
    answered = nb.cells[4].outputs[0]["text"]
    if answered.startswith("no error"):  # the labels were made text another way: both answers are there
        assert answered == "no error 2\n" and "2 requests" in final
    else:  # or the batch's one error line is in its display and in .error
        assert "cannot be text" in final and answered.split()[0] != "no"
