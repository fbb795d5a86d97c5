"""Issue 19: prompts shown as HTML are defanged like answers.

The ``%llama_history`` system prompt and the panel's echoed prompt were escaped but not defanged:
``$\\href{javascript:...}{x}$`` stayed text that MathJax (which typesets our HTML) could make a link.
"""

from __future__ import annotations

import sys
from pathlib import Path

from support.shell import KEY, everything_shown, run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "widgets"))
from test_panel import send, transcript_html  # noqa: E402

HOSTILE = r"$\href{javascript:alert(1)}{x}$ and data:text/html,<b>"


def test_the_history_system_prompt_and_user_turns_are_defanged(ip, online, magics):
    magics.llama_session.conversations.clear()
    result, cap = run(ip, f'%%llama -c tutor -s "{HOSTILE}" -q -o r\n{HOSTILE}')
    assert result.success, cap.stderr
    result, cap = run(ip, "h = %llama_history tutor")
    assert result.success, cap.stderr
    page = ip.user_ns["h"]._repr_mimebundle_()[0]["text/html"]
    assert page.count("j\u2060avascript:") >= 2  # the system prompt and the user's turn (and the echo)
    assert "javascript:" not in page.lower() and "data:text" not in page.lower()
    assert "j\u2060avascript:" in page and "&lt;b&gt;" in page  # still readable, still escaped
    assert KEY not in everything_shown(cap)


def test_the_panels_echoed_prompt_is_defanged(ip, online):
    import dataoorts_magic

    panel = dataoorts_magic.panel()
    send(panel, HOSTILE)
    page = transcript_html(panel)
    assert "You:" in page and "j\u2060avascript:" in page
    assert "javascript:" not in page.lower() and "data:text" not in page.lower()
