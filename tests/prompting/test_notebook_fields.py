"""{In[n]}, {Out[n]} and {Err[n]} in a real shell, over HTTP to the loopback endpoint (INTERFACE 13)."""

from __future__ import annotations

from support.notebook_cells import cell, sent_user

FAILING = "def average(values):\n    return sum(values) / len(values)\n\naverage([])"


def test_negative_indices_count_back_from_the_running_cell(ip, online):
    failed, _ = cell(ip, FAILING)
    assert isinstance(failed.error_in_exec, ZeroDivisionError)
    worked, _ = cell(ip, "6 * 7")
    result, cap = cell(ip, "%%llama\nSource: {In[-2]}\nError: {Err[-2]}\nResult: {Out[-1]}\nNo error: [{Err[-1]}]")
    assert result.success, cap.stderr
    prompt = sent_user(online)
    assert f"Source: {FAILING}\n" in prompt  # the source as typed
    assert "Result: 42\n" in prompt
    assert "No error: []" in prompt  # a cell that did not fail has an empty error
    error = prompt.split("Error: ", 1)[1].split("\nResult:", 1)[0]
    assert error.startswith("Traceback (most recent call last):")
    assert f"Cell In[{failed.execution_count}], line 4" in error and "in average" in error
    assert error.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "interactiveshell.py" not in error  # IPython's own frames are left out, as %llama_explain does
    assert cap.stderr == ""  # every field resolved: no note


def test_a_cell_number_gives_that_cell_and_an_unknown_one_is_sent_as_typed(ip, online):
    first, _ = cell(ip, "'first'")
    n = first.execution_count
    result, cap = cell(ip, f"%%llama\n{{In[{n}]}} gave {{Out[{n}]}}; cell 99999 is {{In[99999]}}")
    assert result.success
    assert sent_user(online) == "'first' gave first; cell 99999 is {In[99999]}"
    assert "{In[99999]} is not defined here: sent as typed; --raw silences this" in cap.stderr


def test_an_error_names_files_short_and_the_home_folder_as_tilde(ip, online, tmp_path, monkeypatch):
    home = tmp_path / "home" / "alice"
    project = home / "project"
    project.mkdir(parents=True)
    (project / "helpers_22.py").write_text("def load(path):\n    return open(path).read()\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.syspath_prepend(str(project))
    cell(ip, f"import helpers_22\nhelpers_22.load({str(home / 'data.csv')!r})")
    result, _ = cell(ip, "%%llama\nWhy? {Err[-1]}")
    assert result.success
    prompt = sent_user(online)
    assert "alice" not in prompt and str(tmp_path) not in prompt
    assert 'File "helpers_22.py", line 2, in load' in prompt
    assert "No such file or directory: '~/data.csv'" in prompt


def test_a_dataframe_result_is_the_compact_markdown_table(ip, online):
    import pandas as pd

    ip.user_ns["pd"] = pd
    cell(ip, "pd.DataFrame({'plant': ['fern', 'moss'], 'height': [30, 5]})")
    result, _ = cell(ip, "%%llama\n{Out[-1]}")
    assert result.success
    prompt = sent_user(online)
    assert prompt.startswith("DataFrame: 2 rows × 2 columns\ncolumns: plant (")
    assert "| 0 | fern | 30 |" in prompt and "<table" not in prompt


def test_out_of_a_llama_cell_is_its_answer_as_text(ip, online):
    asked, _ = cell(ip, "%%llama\nSay <b>hello</b> <script>alert(1)</script>")
    assert asked.success
    result, cap = cell(ip, "%%llama\nWhat did you say? {Out[-1]}")
    assert result.success, cap.stderr
    prompt = sent_user(online)
    assert "**You asked:** Say <b>hello</b> <script>alert(1)</script>" in prompt  # the model's text, as it wrote it
    assert "<div" not in prompt and "&lt;" not in prompt  # not the rendered HTML


def test_a_misspelt_field_is_sent_as_typed_with_a_one_line_note(ip, online):
    ip.user_ns["plant"] = "fern"
    result, cap = cell(ip, '%%llama\nHow tall is a {plant}? Compare {plant_name}. Reply as {"cm": 1}.')
    assert result.success
    assert sent_user(online) == 'How tall is a fern? Compare {plant_name}. Reply as {"cm": 1}.'
    lines = cap.stderr.strip().splitlines()
    assert lines == ["Note: {plant_name} is not defined here: sent as typed; --raw silences this"]
    result, cap = cell(ip, "%%llama --raw\nCompare {plant_name}.")
    assert result.success and cap.stderr == ""
    assert sent_user(online) == "Compare {plant_name}."


def test_two_misspelt_fields_share_one_line_and_the_system_text_counts(ip, online):
    result, cap = cell(ip, '%%llama -s "Speak as {persona}"\nAbout {topik}')
    assert result.success
    assert cap.stderr.strip() == "Note: {topik}, {persona} are not defined here: sent as typed; --raw silences this"


def test_a_syntax_error_is_its_own_lines_without_ipythons_frames(ip, online):
    broken, _ = cell(ip, "for n in [1, 2]\n    print(n)")
    assert isinstance(broken.error_before_exec, SyntaxError)
    result, _ = cell(ip, "%%llama\n{Err[-1]}")
    assert result.success
    assert sent_user(online) == (
        f"  Cell In[{broken.execution_count}], line 1\n"
        "    for n in [1, 2]\n"
        "                   ^\n"
        "SyntaxError: expected ':'"
    )
