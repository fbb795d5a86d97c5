"""The widget panel in a real InteractiveShell, driven as a user would (Button.click), over HTTP to loopback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest
from support.shell import KEY, everything_shown, run

from dataoorts_magic.params import DEFAULT_MODEL, PARAMS, models, param_range

ADVANCED = ("top_k", "repetition_penalty", "frequency_penalty", "presence_penalty", "seed")


# --- helpers: find what the user sees, wait on conditions ------------------------------------------
def widgets(root):
    yield root
    for child in getattr(root, "children", ()):
        yield from widgets(child)


def find(panel, description, kind=None):
    """The one widget showing ``description`` (optionally of class name ``kind``)."""
    found = [
        w
        for w in widgets(panel)
        if getattr(w, "description", None) == description and (kind is None or type(w).__name__ == kind)
    ]
    assert len(found) == 1, f"{len(found)} widgets described {description!r}"
    return found[0]


def toggle(panel, name):
    """The on/off box beside parameter ``name`` (in the same row)."""
    control = find(panel, name)
    rows = [w for w in widgets(panel) if control in getattr(w, "children", ())]
    boxes = [w for w in rows[0].children if type(w).__name__ == "Checkbox"]
    assert len(boxes) == 1
    return boxes[0]


def wait_for(condition, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def send(panel, prompt=None):
    """Click Send and wait until the answer or the error has arrived (Send enabled again)."""
    if prompt is not None:
        panel.prompt_box.value = prompt
    button = find(panel, "Send")
    button.click()
    wait_for(lambda: not button.disabled and button.description == "Send", "Send to come back")


def transcript_html(panel) -> str:
    return "\n".join(out["data"].get("text/html", "") for out in panel.transcript.outputs)


def error_text(panel) -> str:
    return panel.error_line.value


@pytest.fixture
def panel(ip, online):
    import dataoorts_magic

    ip.magics_manager.registry["LlamaMagics"].llama_session.conversations.clear("panel")
    return dataoorts_magic.panel()


# --- controls -------------------------------------------------------------------------------------
def test_every_parameter_has_a_control_with_its_range_and_default(panel):
    for name, p in PARAMS.items():
        control = find(panel, name)
        low, high = param_range(name, DEFAULT_MODEL)
        assert (control.min, control.max) == (low, high), name
        if p.default is not None:
            assert control.value == p.default, name
        if name == "max_tokens":
            assert (control.min, control.max, control.value) == (1, 8000, 512)
            assert not [
                w
                for w in widgets(panel)
                if control in getattr(w, "children", ()) and any(type(c).__name__ == "Checkbox" for c in w.children)
            ]
        else:
            assert toggle(panel, name).value is False, f"{name} starts unset (the server's default)"
    assert type(find(panel, "seed")).__name__ == "BoundedIntText"
    assert type(find(panel, "temperature")).__name__ == "FloatSlider"
    assert type(find(panel, "top_k")).__name__ == "IntSlider"


def test_model_prompt_system_buttons_and_a_collapsed_advanced_section(panel):
    model = find(panel, "model", "Dropdown")
    assert model.value == DEFAULT_MODEL
    assert [value for _, value in model.options] == list(models())
    label = dict((v, k) for k, v in model.options)[DEFAULT_MODEL]
    assert "$0.07" in label and "$0.08" in label and "8,000" in label
    labels = dict((v, k) for k, v in model.options)  # prices with two decimals, as %llama_models shows them
    assert "$0.10 in / $0.11 out" in labels["deepseek-ai/deepseek-math-7b-instruct"]
    assert "$0.30 in / $0.45 out" in labels["openai/gpt-oss-120b"]
    assert find(panel, "prompt", "Textarea").placeholder == "Prompt"
    assert find(panel, "system", "Textarea").value == ""
    for text in ("Send", "New chat", "Show as %%llama cell"):
        find(panel, text, "Button")
    assert find(panel, "keep conversation").value is False
    opener = find(panel, "Advanced", "ToggleButton")
    rows = {w.model_id: w for w in widgets(panel) if find(panel, "seed") in getattr(w, "children", ())}
    [advanced] = [w for w in widgets(panel) if any(row in getattr(w, "children", ()) for row in rows.values())]
    assert opener.value is False and advanced.layout.display == "none"  # closed until opened
    inside = {w.description for w in widgets(advanced) if getattr(w, "description", "") in PARAMS}
    assert inside == set(ADVANCED)
    opener.value = True
    assert advanced.layout.display is None and opener.icon == "caret-down"
    opener.value = False
    assert advanced.layout.display == "none"


def test_one_label_column_controls_that_fill_their_rows_and_buttons_at_the_end(panel):
    labelled = [w for w in widgets(panel) if getattr(w, "description", "") in (*PARAMS, "model", "system", "prompt")]
    assert {w.style.description_width for w in labelled} == {"140px"}  # main and Advanced rows alike
    for name in PARAMS:
        assert find(panel, name).layout.flex == "1 1 auto", name  # the row's width, not ipywidgets' 300 px
        if name != "max_tokens":
            assert toggle(panel, name).layout.margin.startswith("0 0 0 12px"), name  # a gap before "set"
    buttons = [w for w in widgets(panel) if find(panel, "Send") in getattr(w, "children", ())][0]
    [row] = [w for w in widgets(panel) if buttons in getattr(w, "children", ())]
    assert row.layout.justify_content == "space-between"
    assert [b.description for b in row.children[1].children] == ["New chat", "Show as %%llama cell"]  # at the end


def test_initial_values_come_from_the_session_settings(ip, online):
    import dataoorts_magic

    ip.run_line_magic(
        "llama_config", 'temperature=0.2 max_tokens=256 top_k=7 system="Be brief." model=meta/llama-3.1-70b-instruct'
    )
    panel = dataoorts_magic.panel()
    assert find(panel, "temperature").value == 0.2
    assert find(panel, "max_tokens").value == 256
    assert find(panel, "top_k").value == 7
    assert find(panel, "system").value == "Be brief."
    assert find(panel, "model").value == "meta/llama-3.1-70b-instruct"
    assert find(panel, "max_tokens").max == 25000  # that model's context window
    send(panel, "Hi")
    data = online.requests[-1]["body"]["data"]
    assert (data["temperature"], data["max_tokens"], data["top_k"]) == (0.2, 256, 7)
    assert data["messages"][0] == {"role": "system", "content": "Be brief."}


def test_max_tokens_follows_the_chosen_models_context_window(panel):
    max_tokens = find(panel, "max_tokens")
    max_tokens.value = 8000
    find(panel, "model").value = "deepseek-ai/deepseek-math-7b-instruct"
    assert (max_tokens.max, max_tokens.value) == (4096, 4096)
    find(panel, "model").value = "openai/gpt-oss-120b"
    assert max_tokens.max == 128000
    find(panel, "model").value = "meta/llama-guard-3-8b"  # documents only temperature and max_tokens
    assert find(panel, "top_p").disabled and toggle(panel, "top_p").disabled
    assert not find(panel, "temperature").disabled


# --- sending --------------------------------------------------------------------------------------
def test_send_carries_the_control_values(panel, online):
    values = {
        "temperature": 1.25,
        "top_p": 0.9,
        "top_k": 12,
        "max_tokens": 300,
        "seed": 4242,
        "repetition_penalty": 1.1,
        "frequency_penalty": 0.5,
        "presence_penalty": 0.25,
    }
    for name, value in values.items():
        find(panel, name).value = value  # moving a control turns its toggle on
    find(panel, "system").value = "You are terse."
    send(panel, "Hello there")
    assert error_text(panel) == ""
    assert online.requests[-1]["body"] == {
        "model": DEFAULT_MODEL,
        "data": {
            "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hello there"}],
            **values,
        },
    }
    for name in values:
        assert type(online.requests[-1]["body"]["data"][name]) is PARAMS[name].type


def test_only_max_tokens_is_sent_until_a_parameter_is_set(panel, online):
    send(panel, "Hi")
    assert set(online.requests[-1]["body"]["data"]) == {"messages", "max_tokens"}
    find(panel, "seed").value = 77
    assert toggle(panel, "seed").value is True
    toggle(panel, "seed").value = False  # the on/off toggle: off means not sent
    send(panel)
    assert "seed" not in online.requests[-1]["body"]["data"]
    toggle(panel, "top_p").value = True  # on without moving: the shown value is sent
    send(panel)
    assert online.requests[-1]["body"]["data"]["top_p"] == find(panel, "top_p").value


def test_send_runs_off_the_main_thread_and_shows_a_busy_state(ip, panel, online):
    online.enqueue({"latency": 1.6})
    panel.prompt_box.value = "Take your time"
    button = find(panel, "Send")
    button.click()  # returns at once: the request is in flight in a worker thread
    assert button.disabled and button.description.startswith("Sending…")
    wait_for(lambda: online.in_flight == 1, "the request to reach the server")
    assert ip.run_cell("kernel_is_free = 6 * 7").success and ip.user_ns["kernel_is_free"] == 42
    button.click()  # ignored while busy
    find(panel, "New chat").click()
    assert find(panel, "New chat").disabled
    wait_for(lambda: button.description == "Sending… 1 s", "the elapsed seconds")
    assert online.in_flight == 1 and button.disabled
    wait_for(lambda: not button.disabled, "the answer")
    assert button.description == "Send" and online.count == 1
    assert "Take your time" in transcript_html(panel)


def test_the_answer_appears_with_usage_cost_and_time_and_totals_add_up(panel, online):
    send(panel, "First question")
    send(panel, "Second question")
    outputs = panel.transcript.outputs
    assert len(outputs) == 4  # the prompt, then the answer, per turn; the newest turn first (next to Send)
    assert "Second question" in outputs[0]["data"]["text/html"]
    assert "First question" in outputs[2]["data"]["text/html"]
    answer = outputs[1]
    assert "Offline" in answer["data"]["text/html"] or "offline" in answer["data"]["text/html"]
    meta = answer["metadata"]["dataoorts_magic"]
    usage = meta["usage"]
    footer = f"{usage['prompt_tokens']} → {usage['completion_tokens']} tokens"
    assert footer in answer["data"]["text/html"] and "$0.0000" in answer["data"]["text/html"]
    assert " s</div>" in answer["data"]["text/html"]
    prompt = sum(o["metadata"]["dataoorts_magic"]["usage"]["prompt_tokens"] for o in outputs[1::2])
    completion = sum(o["metadata"]["dataoorts_magic"]["usage"]["completion_tokens"] for o in outputs[1::2])
    cost = sum(o["metadata"]["dataoorts_magic"]["cost"] for o in outputs[1::2])
    assert f"2 requests · {prompt} → {completion} tokens · ${cost:.6f}" in panel.totals_line.value


def test_model_text_is_sanitized_in_the_panel(panel):
    send(panel, "<img src=x onerror=alert(1)> <script>alert(2)</script> [x](javascript:alert(3))")
    shown = transcript_html(panel) + panel.static_copy()._repr_html_()
    assert "<script" not in shown and "<img" not in shown and not re.search(r"<[^>]*onerror", shown)
    assert not re.search(r"""href=["']?javascript""", shown)
    assert "&lt;script&gt;" in shown  # shown as text, never run


def test_an_http_error_shows_as_one_line_and_the_panel_stays_usable(panel, online):
    online.enqueue({"status": 400, "code": 5006, "message": "Bad input: the prompt is not acceptable"})
    send(panel, "Hi")
    line = error_text(panel)
    assert "HTTP 400" in line and "5006" in line and "Traceback" not in line and "\n" not in line
    assert panel.transcript.outputs == ()
    send(panel, "Hi again")
    assert error_text(panel) == "" and len(panel.transcript.outputs) == 2


def test_authentication_failure_and_missing_key_are_one_line_without_the_key(panel, online, monkeypatch):
    monkeypatch.setenv("DATAOORTS_API_KEY", "sk-wrong-key-123456")
    send(panel, "Hi")
    assert "401" in error_text(panel) and "sk-wrong" not in error_text(panel)
    monkeypatch.delenv("DATAOORTS_API_KEY")
    send(panel, "Hi")
    assert "%llama_key" in error_text(panel) and online.count == 1
    monkeypatch.setenv("DATAOORTS_API_KEY", KEY)
    send(panel, "Hi")
    assert error_text(panel) == ""


def test_a_dropped_connection_and_a_proxy_page_are_one_line_each(ip, panel, online):
    ip.run_line_magic("llama_config", "max_retries=0")
    online.enqueue(
        {"drop": True}, {"status": 502, "body": "<html><h1>Bad gateway</h1></html>", "content_type": "text/html"}
    )
    send(panel, "Hi")
    first = error_text(panel)
    send(panel, "Hi")
    second = error_text(panel)
    for line in (first, second):
        assert line and "Traceback" not in line and "\n" not in line and "<h1>" not in line
    assert "502" in second and online.count == 2 and panel.transcript.outputs == ()


def test_a_model_not_in_the_table_is_offered_and_sent(ip, monkeypatch, online):
    import dataoorts_magic

    monkeypatch.setenv("DATAOORTS_MODEL", "acme/new-model")
    panel = dataoorts_magic.panel()
    model = find(panel, "model")
    assert model.value == "acme/new-model"
    assert "price and limits unknown" in dict((v, k) for k, v in model.options)["acme/new-model"]
    assert find(panel, "max_tokens").max == PARAMS["max_tokens"].max
    send(panel, "Hi")
    assert online.requests[-1]["body"]["model"] == "acme/new-model"
    assert "No such model" in error_text(panel)  # the endpoint's answer, as one line


def test_an_answer_without_usage_shows_usage_not_reported_and_cost_unknown(panel, online):
    online.enqueue(
        {
            "status": 200,
            "content_type": "application/json",
            "body": json.dumps(
                {"errors": [], "messages": [], "success": True, "result": {"response": "Short answer."}}
            ),
        }
    )
    send(panel, "Hi")
    assert error_text(panel) == ""
    assert "usage not reported" in transcript_html(panel) and "cost unknown" in transcript_html(panel)
    assert "Totals: 1 request · 0 → 0 tokens · $0 + 1 answer of unknown cost" in panel.totals_line.value


def test_an_empty_prompt_is_explained_and_nothing_is_sent(panel, online):
    send(panel, "  \n ")
    assert "prompt is empty" in error_text(panel) and online.count == 0


# --- conversation ---------------------------------------------------------------------------------
def test_keep_conversation_continues_the_same_conversation_as_the_magic(ip, panel, online):
    find(panel, "keep conversation").value = True
    send(panel, "My name is Ada.")
    send(panel, "What is my name?")
    messages = online.requests[-1]["body"]["data"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"] == "My name is Ada."
    result, cap = run(ip, "%%llama -c panel\nAnd again?")
    assert result.success, cap.stderr
    assert len(online.requests[-1]["body"]["data"]["messages"]) == 5  # the panel's two turns, then this one
    find(panel, "Show as %%llama cell").click()
    assert "-c panel" in panel.code_box.value and panel.code_area.layout.display != "none"
    find(panel, "New chat").click()
    assert panel.transcript.outputs == ()
    assert panel.code_box.value == "" and panel.code_area.layout.display == "none"  # the old chat's cell is gone
    send(panel, "Fresh start")
    assert online.requests[-1]["body"]["data"]["messages"] == [{"role": "user", "content": "Fresh start"}]
    find(panel, "keep conversation").value = False
    send(panel, "Alone")
    assert len(online.requests[-1]["body"]["data"]["messages"]) == 1
    assert "Totals: 4 requests · " in panel.totals_line.value  # the panel's own answers, kept across New chat
    saved = panel.static_copy()
    plain = repr(saved)  # the saved copy keeps every turn, those before New chat too, and marks it
    assert "(4 answers)" in plain and plain.index("My name is Ada.") < plain.index("-- New chat --")
    assert plain.index("-- New chat --") < plain.index("Fresh start") < plain.index("Alone")
    assert "dataoorts-new-chat" in saved._repr_html_() and "(4 answers;" in saved._repr_html_()


# --- Copy as %%llama ------------------------------------------------------------------------------
COPY_CASES = {
    "defaults": {},
    "parameters": {"temperature": 0.35, "top_k": 5, "max_tokens": 64, "seed": 9999999999, "presence_penalty": 0.1},
    "quoted system and braces": {"system": 'You\'re "terse"; use \\n and {json} as typed.', "prompt": "Fill {x}"},
    "multi-line system, other model": {"system": "Line one.\nLine two.", "model": "qwen/qwq-32b", "temperature": 1.0},
    "system that looks like an option": {"system": "-v --verbose"},
}


@pytest.mark.parametrize("case", COPY_CASES, ids=list(COPY_CASES))
def test_copy_writes_a_cell_that_sends_the_same_request(ip, panel, online, case):
    spec = dict(COPY_CASES[case])
    panel.prompt_box.value = spec.pop("prompt", "Write a haiku about tests.")
    panel.system_box.value = spec.pop("system", "")
    if "model" in spec:
        find(panel, "model").value = spec.pop("model")
    for name, value in spec.items():
        find(panel, name).value = value
    ip.rl_next_input = None
    find(panel, "Show as %%llama cell").click()
    code = ip.rl_next_input
    assert code and panel.code_box.value == code and "next input" in panel.code_note.value
    assert all(w.layout.display != "none" for w in widgets(panel) if panel.code_box in widgets(w))
    assert error_text(panel) == ""
    send(panel)
    from_panel = online.requests[-1]["body"]
    result, cap = run(ip, code)
    assert result.success, cap.stderr + cap.stdout
    assert online.count == 2 and online.requests[-1]["body"] == from_panel
    if "\n" not in panel.system_box.value:
        assert code.startswith("%%llama")


def test_copy_writes_only_what_differs_from_the_defaults(ip, panel):
    panel.prompt_box.value = "Hi"
    find(panel, "Show as %%llama cell").click()
    assert ip.rl_next_input == "%%llama\nHi"
    find(panel, "temperature").value = 0.2
    find(panel, "keep conversation").value = True
    find(panel, "Show as %%llama cell").click()
    assert ip.rl_next_input == "%%llama --temperature 0.2 -c panel\nHi"


def test_copy_includes_session_settings_so_the_cell_reproduces_elsewhere(ip, panel):
    ip.run_line_magic("llama_config", "top_p=0.5")
    panel.prompt_box.value = "Hi"
    find(panel, "Show as %%llama cell").click()
    assert ip.rl_next_input == "%%llama --top-p 0.5\nHi"
    assert find(panel, "top_p").value == 0.5 and toggle(panel, "top_p").value is False


def test_copy_from_a_button_click_in_a_kernel_shows_the_code_instead(ip, panel, monkeypatch):
    # In a kernel a click arrives as a comm message; set_next_input would wait for the next cell run.
    monkeypatch.setattr(ip, "parent_header", {"msg_type": "comm_msg"}, raising=False)
    ip.rl_next_input = None
    panel.prompt_box.value = "Hi"
    find(panel, "Show as %%llama cell").click()
    assert ip.rl_next_input is None
    assert panel.code_box.value == "%%llama\nHi" and "Ctrl+A then Ctrl+C" in panel.code_note.value
    monkeypatch.setattr(ip, "parent_header", {"msg_type": "execute_request"})
    find(panel, "Show as %%llama cell").click()  # run from a cell (p.copy_button.click()): inserted
    assert ip.rl_next_input == "%%llama\nHi"


def test_copy_with_an_empty_prompt_explains(panel, ip):
    ip.rl_next_input = None
    find(panel, "Show as %%llama cell").click()
    assert "prompt is empty" in error_text(panel) and ip.rl_next_input is None


# --- the magic, the static copy, imports ----------------------------------------------------------
def test_llama_panel_shows_the_widget_and_then_a_static_transcript(ip, online):
    result, cap = run(ip, "%llama_panel")
    assert result.success, cap.stderr
    widget_out, static_out, names_out = cap.outputs
    # our script that names the sliders' handles for screen readers (ipywidgets leaves them unnamed)
    assert "noUi-handle" in names_out.data["application/javascript"] and names_out.data["text/plain"] == ""
    assert "application/vnd.jupyter.widget-view+json" in widget_out.data
    assert static_out.transient["display_id"]
    assert "panel transcript (0 answers;" in static_out.data["text/html"]
    assert static_out.data["text/html"].startswith("<details")
    # Where widgets cannot show, the widget's output reads as one line, not LlamaPanel(children=...
    assert widget_out.data["text/plain"] == (
        "dataoorts-magic panel (a live widget: run its cell in JupyterLab or Notebook to open it)"
    )
    # Reopened without widget state: the style hides JupyterLab's "model not found" output just above
    # this copy and shows the hint (tests/e2e/test_browser.py checks it in JupyterLab).
    assert "<style>.jp-OutputArea-child:has(> .jp-OutputArea-output.jupyter-widgets)" in static_out.data["text/html"]
    assert "run the cell to open the live panel again" in static_out.data["text/html"]


def test_the_static_transcript_follows_the_panel_so_a_saved_notebook_keeps_it(ip, online):
    result, cap = run(ip, "import dataoorts_magic\np = dataoorts_magic.panel()\np")
    assert result.success, cap.stderr
    panel = ip.user_ns["p"]
    widget_out, static_out, _names = cap.outputs
    assert widget_out.data["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.model_id
    display_id = static_out.transient["display_id"]
    from IPython.utils.capture import capture_output

    with capture_output() as later:
        send(panel, "Remember this")
    [update] = [o for o in later.outputs if o.transient.get("display_id") == display_id]
    assert update.update and "Remember this" in update.data["text/html"]
    assert "tokens" in update.data["text/html"] and "Remember this" in update.data["text/plain"]
    assert "panel transcript (1 answer;" in update.data["text/html"]
    assert KEY not in everything_shown(later) + everything_shown(cap)


def test_llama_panel_takes_no_options(ip):
    result, cap = run(ip, "%llama_panel --fast")
    assert not result.success and "takes no options" in cap.stderr + cap.stdout


def test_panel_function_needs_the_extension_and_load_ext_does_not_import_ipywidgets():
    code = """
import sys
from IPython.core.interactiveshell import InteractiveShell
import dataoorts_magic
ip = InteractiveShell.instance()
try:
    dataoorts_magic.panel()
except Exception as err:
    print("ERROR", type(err).__name__, err)
ip.run_line_magic("load_ext", "dataoorts_magic")
print("loaded; ipywidgets imported:", "ipywidgets" in sys.modules)
p = dataoorts_magic.panel()
print("panel:", type(p).__name__, "ipywidgets imported:", "ipywidgets" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("ERROR UsageError") and "%load_ext dataoorts_magic" in lines[0]
    assert lines[1] == "loaded; ipywidgets imported: False"
    assert lines[2] == "panel: LlamaPanel ipywidgets imported: True"


def test_cell_code_is_plain_text_that_the_magic_parser_reads_back():
    from dataoorts_magic.widgets.cell_code import cell_code

    code = cell_code("Hi", DEFAULT_MODEL, 'a "b" c', {"max_tokens": 512, "top_p": 0.300000001}, fmt="markdown")
    assert code == '%%llama -s "a \\"b\\" c" --top-p 0.300000001 -f markdown\nHi'
    assert json.loads(json.dumps(code)) == code
