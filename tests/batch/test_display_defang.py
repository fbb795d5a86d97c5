"""The --over table, the --compare columns and the tables of --schema fields break javascript:/data:
as the answer's HTML does.

MathJax typesets these displays too (JupyterLab's typesetter runs on every text/html output),
and its ``\\href`` makes a link of any URL in a formula; so a script URL in an item, an answer
snippet, a header or an error message must reach the page broken, as ``defang`` breaks it.
"""

from __future__ import annotations

import json
import re

from support.scripted_server import fail, ok
from support.shell import run

LIVE = re.compile(r"(?i)(?:javascript|data)\s*:")
HREF = "$\\href{javascript:alert(1)}{click}$ and data:text/html,<b>x</b>"


def test_the_over_table_breaks_script_urls_in_items_and_answers(ip, scripted):
    ip.user_ns["pages"] = ["javascript:alert(2)", "plain"]
    scripted.script(ok(HREF), fail(400, 5006, message="bad input: " + HREF))
    result, cap = run(ip, "%%llama --over pages -j 1 -o out\nSummarise {item}")
    assert result.success, cap.stderr
    html = ip.user_ns["out"]._repr_html_()
    assert "click" in html and "alert(2)" in html and "bad input" in html  # all shown, as text
    assert not LIVE.search(html), html


def test_compare_columns_break_script_urls_in_headers_and_errors(ip, scripted):
    scripted.script(ok(HREF), fail(400, 5006, message="bad input: " + HREF))
    result, cap = run(ip, "%%llama --compare model=javascript:alert(3),data:x -j 1\nHi")
    assert result.success, cap.stderr
    html = cap.outputs[-1].data["text/html"]
    assert "alert(3)" in html and "bad input" in html and "click" in html
    assert not LIVE.search(html), html


def test_the_fields_of_a_schema_answer_and_batch_break_script_urls(ip, scripted):
    spec = '"note: str"'
    scripted.script(ok(json.dumps({"note": HREF})), ok(json.dumps({"note": HREF})))
    result, cap = run(ip, f"%%llama --schema {spec}\nHi")
    assert result.success, cap.stderr
    one = cap.outputs[0].data["text/html"]
    ip.user_ns["notes"] = ["one"]
    result, cap = run(ip, f"%%llama --over notes --schema {spec} -o out\nAbout {{item}}")
    assert result.success, cap.stderr
    many = ip.user_ns["out"]._repr_html_()
    for html in (one, many):
        assert "click" in html and "data" in html  # shown, as text
        assert not LIVE.search(html), html
