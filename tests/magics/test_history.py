"""%llama_history and %llama_usage in a real InteractiveShell, over HTTP to the loopback endpoint."""

from __future__ import annotations

import json
import re

import pytest
from support.shell import run

from dataoorts_magic.display.response import Usage
from dataoorts_magic.params import cost, format_cost
from dataoorts_magic.pipeline.budget import Spending
from dataoorts_magic.store.log import ExchangeLog

DEFAULT = "meta/llama-3.1-8b-instruct"


@pytest.fixture(autouse=True)
def fresh_session(ip, magics):
    """No conversations and nothing spent yet, as in a kernel that just loaded the extension."""
    magics.llama_session.conversations.clear()
    magics.llama_session.spending = Spending()
    yield
    magics.llama_session.conversations.clear()


def plain(cap) -> str:
    """What the cell showed as its result (a terminal prints the result's plain text)."""
    return cap.stdout


def table_rows(text: str) -> list[list[str]]:
    """The rows of a Table's plain-text rendering, split into cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line.replace(" ", "")) == {"-"})
    return [re.split(r"\s{2,}", line.strip()) for line in lines[start + 1 :] if re.search(r"\s{2,}", line)]


def test_history_lists_conversations_with_turn_counts(ip, online):
    _, cap = run(ip, "%llama_history")
    assert "No conversations yet" in plain(cap)
    for cell in ("%%llama -c -n 20\nOne", "%%llama -c -n 20\nTwo", "%%llama -c tutor -n 20\nThree"):
        run(ip, cell)
    result, cap = run(ip, "%llama_history")
    assert result.success
    rows = {r[0]: r for r in table_rows(plain(cap))}
    assert rows["default"][1] == "2" and rows["tutor"][1] == "1"
    assert "<table>" in ip.run_line_magic("llama_history", "")._repr_html_()


def test_transcript_shows_every_turn_with_usage_and_is_sanitized(ip, online):
    run(ip, '%%llama -c -s "Be kind." -n 300 -o r1\nWhat is <script>alert(1)</script> doing here?')
    run(ip, "%%llama -c -n 300 -o r2\nAnd <img src=x onerror=alert(2)>?")
    r1, r2 = ip.user_ns["r1"], ip.user_ns["r2"]
    result, cap = run(ip, "%llama_history default")
    assert result.success
    bundle, _ = ip.run_line_magic("llama_history", "default")._repr_mimebundle_()
    text, page = plain(cap), bundle["text/html"]
    assert "Conversation 'default' · 2 turns" in text and bundle["text/plain"] in text
    assert "System: Be kind." in text and r1.text in text and r2.text in text
    for r in (r1, r2):
        assert f"{r.usage.prompt_tokens} → {r.usage.completion_tokens} tokens · {format_cost(r.cost)}" in text
        assert f"{r.usage.prompt_tokens} → {r.usage.completion_tokens} tokens" in page
    assert "alert(1)" in r1.text  # the endpoint echoes the prompt, so the answer holds the markup too
    assert "<script" not in page and "<img" not in page and "onerror" not in re.sub(r"&lt;img[^<]*", "", page)
    assert "&lt;script&gt;" in page
    assert "<script" not in bundle["text/markdown"]


def test_unknown_conversation_is_one_line(ip, online):
    run(ip, "%%llama -c real -n 20\nHi")
    result, cap = run(ip, "%llama_history nope")
    assert not result.success
    assert "No conversation named 'nope'" in cap.stderr and "real" in cap.stderr and "Traceback" not in cap.stderr


def test_clear_one_or_all(ip, online, magics):
    run(ip, "%%llama -c a -n 20\nHi")
    run(ip, "%%llama -c b -n 20\nHi")
    _, cap = run(ip, "%llama_history a --clear")
    assert "Conversation 'a' cleared." in cap.stdout
    assert magics.llama_session.conversations.names() == ["b"]
    run(ip, "%%llama -c b -n 20\nAgain")
    assert len(online.requests[-1]["body"]["data"]["messages"]) == 3
    _, cap = run(ip, "%llama_history --clear")
    assert "Cleared 1 conversation(s)." in cap.stdout
    run(ip, "%%llama -c b -n 20\nFresh start")
    assert online.requests[-1]["body"]["data"]["messages"] == [{"role": "user", "content": "Fresh start"}]


def test_export_markdown_and_json(ip, online, tmp_path):
    run(ip, '%%llama -c lesson -s "Be brief." -t 0.2 -n 60 -o r1\nWhat is a <b>mode</b>?')
    run(ip, "%%llama -c lesson -n 60 -o r2\nGive an example.")
    r1, r2 = ip.user_ns["r1"], ip.user_ns["r2"]
    md_path, json_path = tmp_path / "lesson.md", tmp_path / "out dir" / "lesson.json"
    json_path.parent.mkdir()
    result, cap = run(ip, f"%llama_history lesson --export {md_path}")
    assert result.success and f"written to {md_path}" in cap.stdout
    md = md_path.read_text()
    assert md.startswith("# Conversation 'lesson' · 2 turns")
    assert "**System:** Be brief." in md and "## [1] You" in md and "## [2] Llama" in md
    assert "What is a &lt;b&gt;mode&lt;/b&gt;?" in md and "<b>" not in md
    assert "Give an example." in md
    assert f"{r2.usage.prompt_tokens} → {r2.usage.completion_tokens} tokens" in md

    result, cap = run(ip, f"%llama_history lesson --export '{json_path}'")
    assert result.success, cap.stderr
    data = json.loads(json_path.read_text())
    assert data["conversation"] == "lesson" and data["system"] == "Be brief."
    assert data["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is a <b>mode</b>?"},
        {"role": "assistant", "content": r1.text},
        {"role": "user", "content": "Give an example."},
        {"role": "assistant", "content": r2.text},
    ]
    first, second = data["turns"]
    assert first["params"] == {"max_tokens": 60, "temperature": 0.2} and second["params"] == {"max_tokens": 60}
    assert first["usage"] == {
        "prompt_tokens": r1.usage.prompt_tokens,
        "completion_tokens": r1.usage.completion_tokens,
        "total_tokens": r1.usage.total_tokens,
    }
    assert first["model"] == DEFAULT and first["cost"] == pytest.approx(r1.cost)
    assert data["cost"] == pytest.approx(r1.cost + r2.cost)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", first["time"])


def test_export_refuses_other_suffixes(ip, online, tmp_path):
    run(ip, "%%llama -c -n 20\nHi")
    result, cap = run(ip, f"%llama_history default --export {tmp_path / 'x.txt'}")
    assert not result.success and "end the path with .md" in cap.stderr
    assert not (tmp_path / "x.txt").exists()


def test_usage_this_session_and_all_time(ip, online, tmp_path):
    earlier = ExchangeLog(tmp_path / "log.sqlite3")  # another kernel's exchanges, already in the log
    earlier.record(
        model=DEFAULT,
        messages=[],
        params={},
        answer="x",
        usage=Usage(100, 200, 300),
        cost=cost(DEFAULT, 100, 200),
        session="earlier",
    )
    earlier.record(
        model="other/model", messages=[], params={}, answer="y", usage=Usage(10, 20, 30), cost=None, session="earlier"
    )
    earlier.record(model=DEFAULT, messages=[], params={}, error="RateLimitError: slow down", session="earlier")

    run(ip, "%%llama -n 30 -o r1\nFirst")
    run(ip, "%%llama -n 40 -o r2\nSecond")
    run(ip, "%llama_config cache=on")
    run(ip, "%%llama -n 40\nSecond")  # from the cache: counted, but free
    online.enqueue({"status": 400, "code": 5006})
    run(ip, "%%llama -n 40\nThird fails")
    r1, r2 = ip.user_ns["r1"], ip.user_ns["r2"]
    prompt = r1.usage.prompt_tokens + r2.usage.prompt_tokens
    completion = r1.usage.completion_tokens + r2.usage.completion_tokens
    spent = cost(DEFAULT, r1.usage.prompt_tokens, r1.usage.completion_tokens) + cost(
        DEFAULT, r2.usage.prompt_tokens, r2.usage.completion_tokens
    )

    result, cap = run(ip, "%llama_usage")
    assert result.success
    rows = {(r[0], r[1]): r[2:] for r in table_rows(plain(cap))}
    assert rows[("this session", DEFAULT)] == ["4", "1", "1", f"{prompt:,}", f"{completion:,}", format_cost(spent)]
    assert rows[("all time", DEFAULT)] == [
        "6",
        "1",
        "2",
        f"{prompt + 100:,}",
        f"{completion + 200:,}",
        format_cost(spent + cost(DEFAULT, 100, 200)),
    ]
    assert rows[("all time", "other/model")] == ["1", "0", "0", "10", "20", "$0 + unknown"]  # no price known
    assert rows[("all time", "total")][:5] == ["7", "1", "2", f"{prompt + 110:,}", f"{completion + 220:,}"]
    assert str(tmp_path / "log.sqlite3") in plain(cap)
    assert ip.run_line_magic("llama_usage", "").title == "Llama usage"


def test_a_transcript_reads_like_a_chat(ip, online):
    run(ip, '%%llama -c tutor -s "Be brief."\nWhat is a mean?')
    run(ip, "%%llama -c tutor\nAnd a median?")
    result, cap = run(ip, "%llama_history tutor")
    assert result.success, cap.stderr
    page = result.result._repr_mimebundle_()[0]["text/html"]  # what a notebook shows of the cell's result
    assert "<pre" not in page.split('class="dataoorts-answer"')[0]  # the user's words are text, not code
    assert '<div class="dataoorts-user" style="white-space:pre-wrap;margin:.2em 0 .4em">What is a mean?</div>' in page
    roles = re.findall(r'<div class="dataoorts-role" style="([^"]*)">(You|Llama)', page)
    assert [r for _, r in roles] == ["You", "Llama", "You", "Llama"]
    assert all("font-size:1.15em" in style and "font-weight:bold" in style for style, _ in roles)
    # the answers' own headings (the offline echo has an h2) are no larger than the role labels
    assert ".dataoorts-transcript .dataoorts-answer :is(h1,h2,h3,h4,h5,h6){font-size:1.05em" in page
    assert "<h2>" in page and "Be brief." in page
