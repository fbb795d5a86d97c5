"""Usage as data, a terminal table and CSV: one source for ``gateway usage``, ``/usage.json`` and the dashboard."""

from __future__ import annotations

import csv
import io
import time

from .ledger import Ledger, money, usd

COLUMNS = ("name", "requests", "prompt_tokens", "completion_tokens", "spent", "budget", "last_request")


def when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else ""


def student_usage(row) -> dict:
    return {
        "name": row.name,
        "requests": row.requests,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "spent": round(usd(row.spent), 9),
        "budget": round(usd(row.budget), 9),
        "in_flight": round(usd(row.reserved), 9),
        "rate": row.rate,
        "last_request": when(row.last_request),
        "hub": bool(row.hub),
    }


def usage(ledger: Ledger, only: str | None = None) -> dict:
    """Per student (or only the student ``only``) and, for the whole class, the total and the switches."""
    rows = [student_usage(r) for r in ledger.students() if only is None or r.name == only]
    if only is not None:
        return {"students": rows}
    state = ledger.state()
    total = {k: sum(r[k] for r in rows) for k in ("requests", "prompt_tokens", "completion_tokens")}
    total["spent"] = round(sum(r["spent"] for r in rows), 9)
    total["budget"] = round(sum(r["budget"] for r in rows), 9)
    limits = [
        {"time": when(r.time), "status": r.status, "retry_after": r.retry_after}
        for r in ledger.recent_upstream_limits()
    ]
    return {
        "students": rows,
        "total": total,
        "paused": state["paused"] == "1",
        "pause_message": state["pause_message"],
        "upstream_429": limits,
    }


def as_table(data: dict) -> str:
    """The usage as aligned text, with the class total last."""
    lines = [("student", "requests", "prompt", "completion", "spent", "budget", "last request")]
    for r in [*data["students"], {**data["total"], "name": "(class)", "last_request": ""}]:
        lines.append(
            (
                r["name"],
                str(r["requests"]),
                str(r["prompt_tokens"]),
                str(r["completion_tokens"]),
                f"${r['spent']:.6f}",
                money(r["budget"]),
                r["last_request"],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)).rstrip() for line in lines]
    if data.get("paused"):
        text.append(f"paused: {data['pause_message'] or '(no message)'}")
    return "\n".join(text)


def as_csv(data: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in data["students"]:
        writer.writerow([_cell(r[c]) for c in COLUMNS])
    return out.getvalue()


def _cell(value):
    """A CSV cell a spreadsheet reads as meant: dollars in plain decimals (not 7.5e-07), and text it
    will not run as a formula (a student's name is theirs to choose)."""
    if isinstance(value, float):
        return f"{value:.9f}".rstrip("0").rstrip(".") if value else "0"
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value
