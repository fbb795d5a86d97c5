"""%llama_explain after real exceptions in a real InteractiveShell, over HTTP to the loopback endpoint."""

from __future__ import annotations

import sys

import pytest
from support.shell import KEY, everything_shown, run

from dataoorts_magic.magics import explain


@pytest.fixture
def no_error_yet(ip, explain_magics, monkeypatch):
    explain_magics.last_error.last = None
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        monkeypatch.delattr(sys, name, raising=False)


def sent(server) -> list[dict]:
    return server.requests[-1]["body"]["data"]["messages"]


FAILING = "def average(values):\n    return sum(values) / len(values)\n\naverage([])"


def test_explain_sends_the_last_error_with_its_cell_and_shows_the_answer(ip, online, no_error_yet):
    result, failed = run(ip, FAILING)
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    assert "ZeroDivisionError" in failed.stdout  # shown as IPython always shows it
    run(ip, "x = 1")  # a later cell that works does not replace the last error

    result, cap = run(ip, "%llama_explain")
    assert result.success, cap.stderr
    system, user = sent(online)
    assert system == {"role": "system", "content": explain.SYSTEM}
    prompt = user["content"]
    assert FAILING in prompt
    assert "ZeroDivisionError: division by zero" in prompt
    assert "Traceback (most recent call last):" in prompt and "in average" in prompt
    assert "return sum(values) / len(values)" in prompt
    assert "interactiveshell.py" not in prompt  # IPython's own frames are left out
    answer = cap.outputs[-1].data["text/plain"]
    assert answer.rsplit("\n\n-- ", 1)[1].startswith("meta/llama-3.1-8b-instruct")


def test_with_no_error_yet_it_says_so_and_sends_nothing(ip, online, no_error_yet):
    result, cap = run(ip, "%llama_explain")
    assert result.success and online.count == 0
    assert "No error yet in this session" in cap.stdout


def test_a_failing_explain_does_not_replace_the_error_it_was_asked_about(ip, server, monkeypatch, no_error_yet):
    run(ip, "undefined_name + 1")
    result, cap = run(ip, "%llama_explain")  # no key yet
    assert not result.success and "No Dataoorts API key" in cap.stderr
    monkeypatch.setenv("DATAOORTS_API_URL", server.url)
    monkeypatch.setenv("DATAOORTS_API_KEY", KEY)
    result, cap = run(ip, "%llama_explain")
    assert result.success, cap.stderr
    assert "NameError: name 'undefined_name' is not defined" in sent(server)[1]["content"]


def test_syntax_errors_are_explained_too(ip, online, no_error_yet):
    run(ip, "print('unclosed'")
    run(ip, "%llama_explain")
    assert "SyntaxError" in sent(online)[1]["content"] and "print('unclosed'" in sent(online)[1]["content"]


def test_the_key_in_an_error_message_is_never_sent_or_shown(ip, online, no_error_yet):
    run(ip, "import os\nraise ValueError('bad key ' + os.environ['DATAOORTS_API_KEY'])")
    result, cap = run(ip, "%llama_explain")
    assert result.success
    assert KEY not in sent(online)[1]["content"] and "bad key ***" in sent(online)[1]["content"]
    assert KEY not in everything_shown(cap)


def test_error_display_is_unchanged(ip, explain_magics):
    assert ip.custom_exceptions == ()
    assert explain_magics.last_error.post_run_cell in ip.events.callbacks["post_run_cell"]


def test_an_error_from_before_the_extension_was_loaded_is_found_in_sys(ip, no_error_yet):
    run(ip, "{}['missing']")
    found = explain.from_sys()
    assert found.type_name == "KeyError" and found.message == "'missing'"
    assert found.source.strip() == "{}['missing']"  # from the cell IPython keeps in linecache


def test_paths_are_shortened_so_no_home_folder_or_user_name_is_sent(ip, online, no_error_yet, tmp_path, monkeypatch):
    home = tmp_path / "home" / "alice"
    project = home / "project"
    project.mkdir(parents=True)
    (project / "helpers_13.py").write_text("def load(path):\n    return open(path).read()\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.syspath_prepend(str(project))
    run(ip, f"import helpers_13\nhelpers_13.load({str(home / 'data.csv')!r})")
    result, cap = run(ip, "%llama_explain")
    assert result.success, cap.stderr
    prompt = sent(online)[1]["content"]
    assert "alice" not in prompt and str(tmp_path) not in prompt  # neither the home folder nor the user name
    assert 'File "helpers_13.py", line 2, in load' in prompt
    assert "Cell In[" in prompt  # the failing cell, as IPython names it
    assert "No such file or directory: '~/data.csv'" in prompt  # the home folder elsewhere is ~
    assert "helpers_13.load('~/data.csv')" in prompt


def test_an_installed_packages_frames_are_named_from_the_package_on(ip, online, no_error_yet):
    run(ip, "import requests\nrequests.get('not a url')")
    run(ip, "%llama_explain")
    prompt = sent(online)[1]["content"]
    assert 'File "requests/models.py", line ' in prompt
    files = [line.split('"')[1] for line in prompt.splitlines() if line.strip().startswith('File "')]
    assert files and all(not name.startswith(("/", "\\")) and ":" not in name for name in files), files
    assert "site-packages" not in prompt


def test_the_help_says_paths_are_shortened(ip):
    doc = ip.magics_manager.registry["LlamaExplainMagics"].llama_explain.__doc__
    assert "no home folder or user name is sent" in " ".join(doc.split())
