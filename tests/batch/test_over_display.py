"""The --over table: each answer as a short plain-text snippet of its rendered Markdown, escaped."""

from __future__ import annotations

from support.scripted_server import ok
from support.shell import run

ANSWER = (
    "## Offline echo\n\nThis answer comes from the **dataoorts-magic offline endpoint**, "
    "not from a *model*.\n\n- **model**: `llama`\n\n<script>alert(1)</script>"
)


def answer_cells(html: str) -> list[str]:
    rows = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("</tr>")[:-1]
    return [row.rsplit("<td", 1)[1].split(">", 1)[1].removesuffix("</td>") for row in rows]


def test_the_answer_column_shows_plain_text_not_markdown(ip, scripted):
    scripted.script(ok(ANSWER), ok("<b>Bold</b> & **strong**"))
    ip.user_ns["xs"] = ["one", "two"]
    result, cap = run(ip, "%%llama --over xs -j 1 -o out\nSay {item}")  # one at a time: answers in script order
    assert result.success, cap.stderr
    data = cap.outputs[-1].data
    cells = answer_cells(data["text/html"])
    assert cells == [
        "Offline echo · This answer comes from the dataoorts-magic offline endpoint, not from a model. …",
        "&lt;b&gt;Bold&lt;/b&gt; &amp; strong",
    ]
    plain = data["text/plain"]
    assert "→ Offline echo · This answer comes from the dataoorts-magic offline endpoint, not from a model. …" in plain
    for text in (data["text/html"], plain):
        assert "##" not in text and "**" not in text and "<script" not in text
    assert ip.user_ns["out"].texts == [ANSWER, "<b>Bold</b> & **strong**"]  # the result keeps the Markdown
