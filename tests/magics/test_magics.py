"""%%llama and %llama in a real InteractiveShell, over HTTP to the bundled endpoint on loopback."""

from __future__ import annotations

import json
import re

import pytest
from support.shell import KEY, KEY_FINGERPRINT, everything_shown, run

from dataoorts_magic.params import PARAMS, models

DEFAULT = "meta/llama-3.1-8b-instruct"
# One Magics class per topic, IPython's way (IPython/core/magics/): magic name -> the class that owns it.
TOPICS = {
    "llama": "LlamaMagics",
    "llama_key": "LlamaSettingsMagics",
    "llama_config": "LlamaSettingsMagics",
    "llama_history": "LlamaHistoryMagics",
    "llama_usage": "LlamaAccountMagics",
    "llama_models": "LlamaAccountMagics",
    "llama_explain": "LlamaExplainMagics",
    "llama_panel": "LlamaPanelMagics",
}
TOPIC_CLASSES = sorted(set(TOPICS.values()))


def last_body(server):
    return server.requests[-1]["body"]


def test_cell_sends_the_documented_request(ip, online):
    result, cap = run(ip, "%%llama -t 0.2 --top-k 5\nHello there")
    assert result.success, cap.stderr
    req = online.requests[-1]
    assert req["body"] == {
        "model": DEFAULT,
        "data": {
            "messages": [{"role": "user", "content": "Hello there"}],
            "max_tokens": 512,
            "temperature": 0.2,
            "top_k": 5,
        },
    }
    assert req["headers"]["authorization"] == KEY_FINGERPRINT
    assert req["headers"]["content-type"] == "application/json"


def test_line_magic_takes_the_rest_of_the_line_as_the_prompt(ip, online):
    result, cap = run(ip, "%llama -n 64 What's -5 squared? Use --raw thinking.")
    assert result.success, cap.stderr
    data = last_body(online)["data"]
    assert data["messages"] == [{"role": "user", "content": "What's -5 squared? Use --raw thinking."}]
    assert data["max_tokens"] == 64


def test_double_dash_ends_the_options(ip, online):
    run(ip, "%llama -t 1 -- -t is a flag name")
    assert last_body(online)["data"]["messages"][0]["content"] == "-t is a flag name"


def test_only_max_tokens_is_sent_when_nothing_is_set(ip, online):
    run(ip, "%%llama\nHi")
    assert set(last_body(online)["data"]) == {"messages", "max_tokens"}


@pytest.mark.parametrize(
    "flag, name, value",
    [
        ("-t 1.5", "temperature", 1.5),
        ("--temperature=0", "temperature", 0.0),
        ("--top-p 0.9", "top_p", 0.9),
        ("--top-k 50", "top_k", 50),
        ("-n 100", "max_tokens", 100),
        ("--max-tokens 8000", "max_tokens", 8000),
        ("--seed 9999999999", "seed", 9999999999),
        ("--repetition-penalty 1.1", "repetition_penalty", 1.1),
        ("--frequency-penalty 2", "frequency_penalty", 2.0),
        ("--presence-penalty 0", "presence_penalty", 0.0),
    ],
)
def test_each_parameter_flag_is_sent_inside_data(ip, online, flag, name, value):
    result, cap = run(ip, f"%%llama {flag}\nHi")
    assert result.success, cap.stderr
    sent = last_body(online)["data"][name]
    assert sent == value and type(sent) is PARAMS[name].type


def test_system_prompt_and_model(ip, online):
    run(ip, '%%llama -s "You\'re terse." -m meta/llama-3.1-70b-instruct\nHi')
    body = last_body(online)
    assert body["model"] == "meta/llama-3.1-70b-instruct"
    assert body["data"]["messages"][0] == {"role": "system", "content": "You're terse."}


def number(x) -> str:
    """A bound as the messages write it: 5, not 5.0; 9999999999, not 1e+10."""
    return str(int(x)) if float(x).is_integer() else str(x)


def _bounds():
    cases = []
    for name, p in PARAMS.items():
        step = 1 if p.type is int else 0.01
        cases.append((name, p.min - step, p.min, p.max))
        cases.append((name, p.max + step, p.min, p.max))
    return cases


@pytest.mark.parametrize("name, bad, low, high", _bounds())
def test_out_of_range_values_are_refused_before_sending(ip, online, name, bad, low, high):
    flag = PARAMS[name].flags[-1]
    before = online.count
    result, cap = run(ip, f"%%llama {flag}={bad}\nHi")
    assert not result.success
    line = cap.stderr.strip()
    assert line.startswith("UsageError:") and "\n" not in line
    assert name in line and f"from {number(low)} to {number(high)}" in line
    assert "Traceback" not in cap.stdout + cap.stderr
    assert online.count == before


@pytest.mark.parametrize(
    "cell, words",
    [
        ("%%llama -t warm\nHi", ["temperature", "'warm'", "number"]),
        ("%%llama --top-k 2.5\nHi", ["top_k", "whole number"]),
        ("%%llama -f yaml\nHi", ["invalid choice", "yaml"]),
        ("%%llama --bogus\nHi", ["--bogus"]),
        ("%%llama -q\nHi", ["-o VAR"]),
        ("%%llama -o 2x\nHi", ["not a variable name"]),
        ("%%llama\n   ", ["prompt is empty"]),
        ("%%llama -m meta/llama-guard-3-8b --top-k 3\nHi", ["top_k", "meta/llama-guard-3-8b"]),
        ("%%llama -m deepseek-ai/deepseek-math-7b-instruct -n 5000\nHi", ["max_tokens", "from 1 to 4096"]),
    ],
)
def test_malformed_input_is_one_line_and_nothing_is_sent(ip, online, cell, words):
    before = online.count
    result, cap = run(ip, cell)
    assert not result.success
    line = cap.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    for word in words:
        assert word in line
    assert online.count == before


def test_interpolation_and_raw(ip, online):
    ip.user_ns.update(topic="entropy", person={"name": "Ada"}, items=["x", "y"])
    run(
        ip,
        '%%llama -s "Talk to {person[\'name\']}."\nExplain {topic} with {items[1]}; keep {"json": 1} and {{braces}}.',
    )
    messages = last_body(online)["data"]["messages"]
    assert messages[0]["content"] == "Talk to Ada."
    assert messages[1]["content"] == 'Explain entropy with y; keep {"json": 1} and {braces}.'
    run(ip, "%%llama --raw\nExplain {topic}.")
    assert last_body(online)["data"]["messages"][0]["content"] == "Explain {topic}."


def test_answer_display_has_html_markdown_plain_footer_and_provenance(ip, online):
    result, cap = run(ip, "%%llama --seed 7\nShow me a table")
    assert result.success, cap.stderr
    (out,) = cap.outputs
    assert {"text/html", "text/markdown", "text/plain"} <= set(out.data)
    html = out.data["text/html"]
    assert "<h" in html and "<table>" in html and "<ul>" in html and "codehilite" in html
    meta = out.metadata["dataoorts_magic"]
    prompt, completion = meta["usage"]["prompt_tokens"], meta["usage"]["completion_tokens"]
    expected_cost = (prompt * 0.07 + completion * 0.08) / 1e6
    assert meta["cost"] == pytest.approx(expected_cost)
    assert meta["model"] == DEFAULT and meta["params"]["seed"] == 7 and meta["cached"] is False
    assert re.fullmatch(r"[0-9a-f]{64}", meta["prompt_sha256"])
    footer = out.data["text/plain"].rsplit("\n-- ", 1)[1]
    assert f"{prompt} → {completion} tokens" in footer
    assert f"${expected_cost:.6f}" in footer and re.search(r"\d+\.\d\d s", footer) and DEFAULT in footer
    assert "offline" not in footer


def test_cut_off_answers_are_flagged(ip, online):
    _, cap = run(ip, "%%llama -n 5\nWrite an essay")
    footer = cap.outputs[0].data["text/plain"]
    assert "5 tokens" in footer and "used all 5 max_tokens" in footer


def test_out_and_quiet(ip, online):
    result, cap = run(ip, "%%llama -o r -q\nHi")
    assert result.success and cap.outputs == []
    r = ip.user_ns["r"]
    assert type(r).__name__ == "LlamaResponse"
    assert str(r) == r.text and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert r.messages == [{"role": "user", "content": "Hi"}] and r.params == {"max_tokens": 512}
    assert r.raw["success"] is True and r.cached is False and r.elapsed > 0
    data, meta = r._repr_mimebundle_()
    assert "text/html" in data and meta["dataoorts_magic"]["usage"]["total_tokens"] == r.usage.total_tokens


def test_format_text_shows_the_answer_verbatim(ip, online):
    _, cap = run(ip, "%%llama -f text -o t\nHi")
    html = cap.outputs[0].data["text/html"]
    assert html.startswith("<pre") and "<h1" not in html and "# " in html
    assert cap.outputs[0].data["text/plain"].startswith(ip.user_ns["t"].text)


def test_format_code_gives_the_first_code_block(ip, online):
    _, cap = run(ip, "%%llama -f code -o src\nWrite a function")
    source = ip.user_ns["src"]
    assert isinstance(source, str) and "```" not in source and source.strip()
    assert "codehilite" in cap.outputs[0].data["text/html"]
    assert cap.outputs[0].data["text/plain"].startswith(source)


def test_format_json_parses_the_answer(ip, online):
    _, cap = run(ip, "%%llama -f json -o obj\nGive me JSON about cats")
    obj = ip.user_ns["obj"]
    assert isinstance(obj, dict) and obj
    data = cap.outputs[0].data
    # highlighted JSON with the footer, never a bare JSON tree that JupyterLab would prefer (INTERFACE 3)
    assert "application/json" not in data
    assert "codehilite" in data["text/html"] and "dataoorts-footer" in data["text/html"]
    assert json.loads(data["text/plain"].split("\n\n-- ")[0]) == obj


def test_format_json_failure_keeps_the_answer(ip, online):
    result, cap = run(ip, "%%llama -f json -o bad\nNo structured data here")
    assert not result.success
    assert "not valid JSON" in cap.stderr and "bad holds the answer" in cap.stderr
    assert ip.user_ns["bad"].text and cap.outputs  # shown as text, kept in the variable


def test_format_json_failure_says_each_thing_once(ip, scripted):
    from support.scripted_server import ok

    scripted.script(ok("Sorry, no JSON today."))
    result, cap = run(ip, "%%llama -f json\nGive me JSON")
    assert not result.success
    line = cap.stderr.strip()
    assert line == (
        "UsageError: The answer is not valid JSON (Expecting value at line 1, column 1); it is shown above as "
        'text. Ask for JSON only (e.g. -s "Reply with JSON only."), or look at it with -f text.'
    )
    assert line.count("not valid JSON") == 1 and line.count("Ask for JSON only") == 1
    assert cap.outputs[0].data["text/plain"].startswith("Sorry, no JSON today.")


def test_no_key_says_how_to_set_one(ip, server, monkeypatch):
    monkeypatch.setenv("DATAOORTS_API_URL", server.url)
    result, cap = run(ip, "%%llama\nHi")
    assert not result.success
    assert "DATAOORTS_API_KEY" in cap.stderr and "%llama_key" in cap.stderr and "--offline" in cap.stderr
    assert server.count == 0


def test_wrong_key_is_an_authentication_error_and_the_key_is_never_shown(ip, server, monkeypatch):
    secret = "sk-wrong-" + "z" * 20
    monkeypatch.setenv("DATAOORTS_API_URL", server.url)
    monkeypatch.setenv("DATAOORTS_API_KEY", secret)
    result, cap = run(ip, "%%llama\nHi")
    assert not result.success
    line = cap.stderr.strip()
    assert "Authentication failed" in line and "401" in line and "10000" in line and "key" in line
    assert secret not in everything_shown(cap)
    assert server.count == 1  # 401 is never retried


def test_unreachable_endpoint_is_one_line(ip, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("DATAOORTS_API_URL", f"http://127.0.0.1:{port}/api/v1")
    monkeypatch.setenv("DATAOORTS_API_KEY", KEY)
    ip.run_line_magic("llama_config", "max_retries=0")
    result, cap = run(ip, "%%llama\nHi")
    assert not result.success
    line = cap.stderr.strip()
    assert "\n" not in line and "DATAOORTS_API_URL" in line and KEY not in everything_shown(cap)


def test_offline_mode_needs_no_key(ip):
    ip.run_line_magic("llama_config", "--offline")
    result, cap = run(ip, "%%llama\nHello offline")
    assert result.success, cap.stderr
    footer = cap.outputs[0].data["text/plain"].rsplit("\n-- ", 1)[1]
    assert "offline" in footer
    assert (
        "not from a model" in cap.outputs[0].data["text/plain"].lower()
        or "offline endpoint" in cap.outputs[0].data["text/plain"]
    )
    assert cap.outputs[0].metadata["dataoorts_magic"]["offline"] is True


def test_offline_by_environment(ip, monkeypatch):
    monkeypatch.setenv("DATAOORTS_OFFLINE", "1")
    result, cap = run(ip, "%llama Hi")
    assert result.success, cap.stderr
    assert cap.outputs[0].metadata["dataoorts_magic"]["offline"] is True


def test_precedence_flag_over_session_over_environment_over_default(ip, online, monkeypatch):
    monkeypatch.setenv("DATAOORTS_MODEL", "meta/llama-3.1-70b-instruct")
    run(ip, "%%llama\nHi")
    assert last_body(online)["model"] == "meta/llama-3.1-70b-instruct"
    ip.run_line_magic("llama_config", f"model={DEFAULT} temperature=0.3")
    run(ip, "%%llama\nHi")
    assert last_body(online)["model"] == DEFAULT and last_body(online)["data"]["temperature"] == 0.3
    run(ip, "%%llama -t 0.9\nHi")
    assert last_body(online)["data"]["temperature"] == 0.9
    table = repr(ip.run_line_magic("llama_config", ""))
    assert re.search(r"temperature\s+0\.3\s+session", table)
    assert re.search(r"max_tokens\s+512\s+default", table)
    assert re.search(r"api key\s+set", table) and KEY not in table
    ip.run_line_magic("llama_config", "--reset")
    run(ip, "%%llama\nHi")
    assert (
        last_body(online)["model"] == "meta/llama-3.1-70b-instruct" and "temperature" not in last_body(online)["data"]
    )


def test_config_magic_sets_traits(ip, online):
    ip.run_line_magic("config", "LlamaMagics.temperature = 0.25")
    run(ip, "%%llama\nHi")
    assert last_body(online)["data"]["temperature"] == 0.25
    assert re.search(r"temperature\s+0\.25\s+config", repr(ip.run_line_magic("llama_config", "")))


@pytest.mark.parametrize(
    "line, words",
    [
        ("temperature=9", ["temperature", "9", "from 0 to 5"]),
        ("max_tokens=0", ["max_tokens", "from 1 to 8000"]),
        ("colour=red", ["unknown setting", "colour"]),
        ("stream=maybe", ["stream", "on or off"]),
        ("cache=sometimes", ["cache", "off, on, replay"]),
        ("temperature", ["name=value"]),
    ],
)
def test_llama_config_refuses_bad_values_and_changes_nothing(ip, magics, line, words):
    result, cap = run(ip, f"%llama_config top_k=3 {line}")
    assert not result.success
    for word in words:
        assert word in cap.stderr
    assert magics.top_k is None  # nothing applied when any value is bad


def test_llama_models_lists_prices_and_windows(ip):
    table = ip.run_line_magic("llama_models", "")
    text = repr(table)
    assert len(table.rows) == len(models())
    assert re.search(r"▶ meta/llama-3\.1-8b-instruct\s+0\.07\s+0\.08\s+8,000", text)
    assert "<table>" in table._repr_html_()


def test_llama_key_prompts_hidden_and_never_shows_it(ip, server, monkeypatch):
    typed = "sk-typed-" + "q" * 16
    import getpass

    monkeypatch.setattr(getpass, "getpass", lambda prompt="": typed)  # the user typing at the prompt
    monkeypatch.setenv("DATAOORTS_API_URL", server.url)
    from dataoorts_magic.offline.server import OfflineServer

    with OfflineServer(api_key=typed).start() as keyed:
        monkeypatch.setenv("DATAOORTS_API_URL", keyed.url)
        _, cap1 = run(ip, "%llama_key")
        result, cap2 = run(ip, "%%llama\nHi")
        _, cap3 = run(ip, "%llama_config")
    assert result.success, cap2.stderr
    for cap in (cap1, cap2, cap3):
        assert typed not in everything_shown(cap)
    assert typed not in repr(ip.magics_manager.registry["LlamaMagics"].llama_session.__dict__)
    result, cap = run(ip, "%llama_key sk-on-the-line")
    assert not result.success and "hidden prompt" in cap.stderr


def test_help_lists_every_option(ip):
    doc = ip.magics_manager.registry["LlamaMagics"].llama.__doc__
    for flag in (
        "--system",
        "--model",
        "--temperature",
        "--top-p",
        "--top-k",
        "--max-tokens",
        "--seed",
        "--repetition-penalty",
        "--frequency-penalty",
        "--presence-penalty",
        "--out",
        "--format",
        "--quiet",
        "--raw",
    ):
        assert flag in doc
    assert "%%llama" in doc


def test_help_shows_the_flags_in_sections(ip):
    _, cap = run(ip, "%%llama?")
    text = cap.stdout
    sections = ["the request:", "the answer:", "the prompt, the conversation, the cache:", "many requests:"]
    where = [text.find(title) for title in sections]
    assert -1 not in where and where == sorted(where), where
    request, answer, prompt, many = (text[a:b] for a, b in zip(where, [*where[1:], len(text)], strict=True))
    assert "--temperature" in request and "--seed" in request
    assert "--schema" in answer and "--stream" in answer
    assert "--chat" in prompt and "--no-cache" in prompt
    assert "--over" in many and "--background" in many


def test_help_prints_each_range_as_the_readme_does(ip):
    _, cap = run(ip, "%%llama?")
    help_text = " ".join(cap.stdout.split())
    assert "(1..9999999999)" in help_text and "e+" not in help_text  # seed, not (1..1e+10)
    for p in PARAMS.values():
        low, high = (int(p.min), int(p.max)) if p.type is int else (p.min, p.max)
        assert f"({number(low)}..{number(high)})" in help_text, p.name


def test_each_magic_is_registered_by_the_class_of_its_topic(ip):
    line = ip.magics_manager.magics["line"]
    owners = {name: type(line[name].__self__).__name__ for name in line if name.startswith("llama")}
    assert owners == TOPICS
    assert type(ip.magics_manager.magics["cell"]["llama"].__self__).__name__ == "LlamaMagics"
    core = ip.magics_manager.registry["LlamaMagics"]
    for cls in set(TOPIC_CLASSES) - {"LlamaMagics"}:
        assert ip.magics_manager.registry[cls].llama_session is core.llama_session, cls  # one session


def test_unload_and_reload_leave_one_registration(ip, online):
    ip.run_line_magic("reload_ext", "dataoorts_magic")
    ip.run_line_magic("reload_ext", "dataoorts_magic")
    for cls in TOPIC_CLASSES:
        assert sum(type(c).__name__ == cls for c in ip.configurables) == 1
    for event in ("pre_run_cell", "post_run_cell"):
        recorders = [cb for cb in ip.events.callbacks[event] if "CellRecord" in repr(cb)]
        assert len(recorders) == 1  # the listener of %llama_explain and {Err[n]} is not added twice
    fixes = [t for t in ip.input_transformers_cleanup if getattr(t, "__name__", "") == "keep_question_marks"]
    assert len(fixes) == 1  # the "%llama ...?" input fix is not added twice
    result, _ = run(ip, "%%llama\nHi")
    assert result.success
    ip.run_line_magic("unload_ext", "dataoorts_magic")
    assert "llama" not in ip.magics_manager.magics["cell"]
    assert not any(n.startswith("llama") for n in ip.magics_manager.magics["line"])
    assert not any(type(c).__name__ == "LlamaMagics" for c in ip.configurables)
    assert not any(getattr(t, "__name__", "") == "keep_question_marks" for t in ip.input_transformers_cleanup)
    ip.run_line_magic("load_ext", "dataoorts_magic")
    assert "llama" in ip.magics_manager.magics["line"]


def test_a_model_name_with_markup_stays_text_in_every_part_of_the_display(ip, scripted):
    import markdown
    from support.scripted_server import ok

    hostile = "<img src=x onerror=alert(1)>[x](javascript:alert(1))"
    scripted.script(ok("Fine"))
    result, cap = run(ip, f"%%llama -m '{hostile}'\nHi")
    assert result.success, cap.stderr
    data = cap.outputs[0].data
    as_rendered = markdown.markdown(data["text/markdown"])  # raw HTML passes, as in JupyterLab
    for page in (data["text/html"], as_rendered):
        assert "<img" not in page and 'href="javascript' not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in data["text/html"]


def test_a_one_line_prompt_ending_in_a_question_mark_is_sent_not_taken_for_help(ip, online):
    result, cap = run(ip, "%llama -n 30 What is AI?")
    assert result.success, cap.stdout + cap.stderr
    assert last_body(online)["data"]["messages"] == [{"role": "user", "content": "What is AI?"}]
    before = online.count
    result, cap = run(ip, "x = 1\n%llama   Why is the sky blue?  \ny = 2")
    assert result.success and online.count == before + 1
    assert last_body(online)["data"]["messages"][0]["content"] == "Why is the sky blue?"
    assert ip.user_ns["y"] == 2


def test_help_syntax_still_works_and_cell_bodies_are_untouched(ip, online):
    from dataoorts_magic.magics.question_mark import keep_question_marks

    assert keep_question_marks(["%llama?\n"]) == ["%llama?\n"]
    assert keep_question_marks(["%llama ?\n"]) == ["%llama ?\n"]
    assert keep_question_marks(["%%llama\n", "%llama what?\n"]) == ["%%llama\n", "%llama what?\n"]
    before = online.count
    result, cap = run(ip, "%%llama -n 30\nWhat is a p-value?")
    assert result.success and online.count == before + 1
    assert last_body(online)["data"]["messages"][0]["content"] == "What is a p-value?"
