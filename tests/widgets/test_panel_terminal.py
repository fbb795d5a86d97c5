"""The panel in terminal IPython (a real ``ipython`` process reading typed lines): one line, not a widget repr."""

from __future__ import annotations

import os
import subprocess
import sys

TYPED = """%load_ext dataoorts_magic
%llama_panel
import dataoorts_magic
p = dataoorts_magic.panel()
print("the shell goes on")
"""


def test_llama_panel_and_panel_in_a_terminal_say_it_needs_jupyter_and_point_to_llama(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOORTS_")}
    env.update(IPYTHONDIR=str(tmp_path / "ipython"), DATAOORTS_MAGIC_HOME=str(tmp_path), DATAOORTS_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, "-m", "IPython", "--simple-prompt", "--no-banner", "--colors=NoColor"],
        input=TYPED,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    shown = done.stdout + done.stderr
    refusals = [line for line in shown.splitlines() if "UsageError" in line]
    assert len(refusals) == 2, shown  # %llama_panel, and dataoorts_magic.panel()
    for line in refusals:
        assert line.split("UsageError: ", 1)[1] == (
            "The panel needs a Jupyter front end (JupyterLab, Notebook 7, VS Code); in terminal IPython "
            "ask with %%llama or %llama instead (%%llama? lists the options)."
        )
    assert "LlamaPanel(" not in shown and "Dropdown(" not in shown and "Traceback" not in shown
    assert "the shell goes on" in shown
