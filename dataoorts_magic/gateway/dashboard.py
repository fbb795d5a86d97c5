"""The teacher's page: a table per student, spend against budget as bars, the pause switch, the provider's 429s.

A pure function of the usage data (``report.usage``), so it tests as text. Every name and message
is escaped (students choose their names; a hub user's name is theirs too), the bars are inline
SVG (no script, no CDN), and the pause switch is a form carrying tornado's XSRF token.
"""

from __future__ import annotations

from html import escape

from .ledger import money

BAR_WIDTH = 360
STYLE = """
body{font:15px system-ui,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}table{border-collapse:collapse;margin:12px 0}
th,td{padding:4px 10px;border-bottom:1px solid #d0d7de;text-align:right}
th:first-child,td:first-child{text-align:left}.paused{background:#ffebe9;border:1px solid #cf222e;
padding:8px 12px;margin:12px 0;color:#82071e}.ok{color:#1a7f37}.muted{color:#57606a}
form{display:inline-block;margin:8px 0}input[type=text]{width:22em}button{padding:4px 12px}
svg text{font:12px system-ui,sans-serif}
"""


def _bars(students: list[dict]) -> str:
    """Spend against budget, one bar per student: grey is the budget, blue (red when used up) the spend."""
    row_h, label_w = 26, 150
    height = row_h * max(1, len(students)) + 10
    parts = [
        f'<svg role="img" aria-label="spend against budget" width="{label_w + BAR_WIDTH + 170}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, s in enumerate(students):
        y = 5 + i * row_h
        share = min(1.0, s["spent"] / s["budget"]) if s["budget"] > 0 else 1.0
        colour = "#cf222e" if share >= 0.999 else "#0969da"
        label = s["name"] if len(s["name"]) <= 16 else s["name"][:15] + "…"
        parts.append(f'<text x="0" y="{y + 15}">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{BAR_WIDTH}" height="18" fill="#eaeef2"/>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{share * BAR_WIDTH:.1f}" height="18" fill="{colour}"/>')
        parts.append(
            f'<text x="{label_w + BAR_WIDTH + 8}" y="{y + 15}">{money(s["spent"])} of {money(s["budget"])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(data: dict) -> str:
    head = "<tr><th>student</th><th>requests</th><th>prompt</th><th>completion</th><th>spent</th>"
    head += "<th>budget</th><th>rate</th><th>last request</th></tr>"
    rows = [
        f"<tr><td>{escape(s['name'])}</td><td>{s['requests']}</td><td>{s['prompt_tokens']}</td>"
        f"<td>{s['completion_tokens']}</td><td>${s['spent']:.6f}</td><td>{money(s['budget'])}</td>"
        f"<td>{s['rate'] or ''}</td><td>{escape(s['last_request'])}</td></tr>"
        for s in data["students"]
    ]
    t = data["total"]
    rows.append(
        f"<tr><th>class</th><th>{t['requests']}</th><th>{t['prompt_tokens']}</th><th>{t['completion_tokens']}</th>"
        f"<th>${t['spent']:.6f}</th><th>{money(t['budget'])}</th><th></th><th></th></tr>"
    )
    return f"<table id='students'>{head}{''.join(rows)}</table>"


def _switch(data: dict, xsrf_form: str, action: str) -> str:
    if data["paused"]:
        message = escape(data["pause_message"] or "(no message)")
        return (
            f"<div class='paused' id='state'>Paused: students see “{message}”.</div>"
            f"<form method='post' action='{escape(action)}'>{xsrf_form}"
            "<input type='hidden' name='action' value='resume'><button id='resume'>Resume the class</button></form>"
        )
    return (
        "<p id='state' class='ok'>Running: students' requests go through.</p>"
        f"<form method='post' action='{escape(action)}'>{xsrf_form}<input type='hidden' name='action' value='pause'>"
        "<input type='text' name='message' id='message' placeholder='message students will see (e.g. Exam: no AI)'> "
        "<button id='pause'>Pause the class</button></form>"
    )


def _limits(data: dict) -> str:
    if not data["upstream_429"]:
        return "<p class='muted' id='limits'>No 429 from the provider recently.</p>"
    items = "".join(
        f"<li>{escape(x['time'])}: HTTP {x['status']}"
        + (f", Retry-After {x['retry_after']:.0f} s" if x["retry_after"] is not None else "")
        + "</li>"
        for x in data["upstream_429"]
    )
    return f"<ul id='limits'>{items}</ul>"


def _prompts(rows: list) -> str:
    if not rows:
        return ""
    items = "".join(
        f"<tr><td>{escape(r.student)}</td><td style='text-align:left'>{escape((r.prompt or '')[:300])}</td>"
        f"<td style='text-align:left'>{escape((r.answer or '')[:300])}</td></tr>"
        for r in rows
        if r.prompt is not None
    )
    head = "<tr><th>student</th><th>prompt</th><th>answer</th></tr>"
    return f"<h2>Recent prompts (--log-prompts)</h2><table id='prompts'>{head}{items}</table>"


def page(data: dict, xsrf_form: str, pause_action: str, prompts: list = ()) -> str:
    """The whole dashboard as one HTML document."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Class gateway</title>"
        f"<style>{STYLE}</style></head><body><h1>Class gateway</h1>"
        f"<p class='muted'>{len(data['students'])} students · {money(data['total']['spent'])} spent of "
        f"{money(data['total']['budget'])} budgeted · {data['total']['requests']} answers</p>"
        f"{_switch(data, xsrf_form, pause_action)}<h2>Spend against budget</h2>{_bars(data['students'])}"
        f"<h2>Students</h2>{_table(data)}<h2>The provider's recent 429s</h2>{_limits(data)}{_prompts(list(prompts))}"
        "</body></html>"
    )


def login_page(xsrf_form: str, action: str, problem: str = "") -> str:
    note = f"<p class='paused'>{escape(problem)}</p>" if problem else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Class gateway: sign in</title>"
        f"<style>{STYLE}</style></head><body><h1>Class gateway</h1>{note}"
        "<p>Paste the admin token (<code>dataoorts-magic gateway admin-token</code> prints one).</p>"
        f"<form method='post' action='{escape(action)}'>{xsrf_form}"
        "<input type='password' name='token' id='token' autocomplete='off'> <button id='login'>Sign in</button>"
        "</form></body></html>"
    )
