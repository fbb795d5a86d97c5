"""-f code in terminal IPython (a real ``ipython`` on a pseudo-terminal): the next prompt holds the code, not run."""

from __future__ import annotations

import os
import re
import sys

import pexpect  # IPython's own dependency on POSIX

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_the_next_prompt_is_filled_with_the_code_block_which_runs_only_when_entered(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOORTS_")}
    env.update(
        IPYTHONDIR=str(tmp_path / "ipython"), DATAOORTS_MAGIC_HOME=str(tmp_path), DATAOORTS_OFFLINE="1", TERM="xterm"
    )
    args = ["-m", "IPython", "--no-banner", "--colors=NoColor", "--no-confirm-exit"]
    child = pexpect.spawn(sys.executable, args, env=env, encoding="utf-8", timeout=60, dimensions=(40, 200))
    try:
        child.expect(r"In \[1\]:")
        child.sendline("%load_ext dataoorts_magic")
        child.expect(r"In \[2\]:")
        child.sendline("%llama -f code Write a loop.")
        child.expect(r"In \[3\]:")
        answer = ANSI.sub("", child.before)
        assert "prompt_words = 3" in answer and "· offline" in answer  # shown, with the footer
        assert "3 words at temperature 0.6" not in answer  # not run yet
        child.expect(r"offline echo")  # the new prompt already holds the code ...
        child.expect(r"temperature \{temperature\}")
        child.send("\r")  # ... and Enter runs it
        child.expect(r"3 words at temperature 0\.6")
        child.expect(r"In \[4\]:")
    finally:
        child.sendcontrol("d")
        child.close(force=True)
