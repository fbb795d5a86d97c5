"""Every notebook in ``notebooks/`` runs top to bottom on the offline endpoint, with no key.

Each one is executed by nbclient in a temporary copy of the folder (so what a notebook writes
stays out of the repo), with no ``DATAOORTS_*`` variable set and its own
``DATAOORTS_MAGIC_HOME``. A cell error fails the test, except in cells tagged
``raises-exception``, which must then really fail with one line and no traceback. Then
the checks of what a reader sees: every answer came from the offline endpoint and says so
in its footer, and each notebook shows what it is there to teach.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
THROUGH_A_GATEWAY = {"classroom.ipynb"}  # answers come over HTTP from a class gateway (itself on the offline endpoint)
CELL_TIMEOUT_S = 120


def outputs(cell) -> list[dict]:
    return cell.get("outputs", []) if cell.cell_type == "code" else []


def answers_of(nb) -> list[dict]:
    """Every display of answers: a ``LlamaResponse``, a --compare or an --over (they carry provenance metadata)."""
    return [o for c in nb.cells for o in outputs(c) if "dataoorts_magic" in o.get("metadata", {})]


def provenance(answer: dict) -> list[dict]:
    """The metadata of each answer in a display: one, one per column of a --compare, one per row of an --over."""
    meta = answer["metadata"]["dataoorts_magic"]
    if "compare" in meta:
        return [m for m in meta["compare"] if "error" not in m]
    if "batch" in meta:  # the fields every row shares are recorded once
        shared = {k: v for k, v in meta["batch"].items() if k not in ("totals", "items")}
        return [{**shared, **m} for m in meta["batch"]["items"] if "error" not in m]
    return [meta]


def footers(answer: dict) -> list[str]:
    """The footer lines in a display's plain text: one per answer shown, or an --over's one totals line."""
    text = answer["data"]["text/plain"]
    if "batch" in answer["metadata"]["dataoorts_magic"]:
        return [text.rstrip().rsplit("\n-- ", 1)[1]]
    return [line[3:] for line in text.split("\n") if line.startswith("-- meta/")]


def html_of(nb) -> str:
    return "\n".join(o.get("data", {}).get("text/html", "") for c in nb.cells for o in outputs(c))


def asks_about_an_error(cell) -> bool:
    """A cell that sends a cell's error to the model ({Err[n]}, -x) or prints what was sent."""
    return any(part in cell.source for part in ("{Err[", " -x", ".messages"))


def text_of(nb, skip=lambda cell: False) -> str:
    """All plain text a reader sees in the outputs: streams and text/plain (``skip``: cells left out)."""
    parts = []
    for cell in nb.cells:
        if skip(cell):
            continue
        for o in outputs(cell):
            parts.append(o.get("text", ""))
            parts.append(o.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def tagged(cell, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run each notebook once (on first use) and keep the result for the checks below."""
    done = {}

    def run(path: Path):
        if path.name not in done:
            workdir = tmp_path_factory.mktemp(path.stem)
            shutil.copytree(path.parent, workdir, dirs_exist_ok=True)
            nb = nbformat.read(workdir / path.name, as_version=4)
            NotebookClient(
                nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
            ).execute()
            done[path.name] = nb
        return done[path.name]

    return run


@pytest.fixture(autouse=True)
def own_data_folder(monkeypatch, tmp_path_factory):
    # The kernel inherits this process's environment; conftest has already removed every DATAOORTS_ variable.
    monkeypatch.setenv("DATAOORTS_MAGIC_HOME", str(tmp_path_factory.mktemp("magic-home")))


def test_every_notebook_is_stored_clean_with_a_python_kernelspec():
    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.get("kernelspec", {}).get("name") == "python3", path.name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: outputs saved"
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_offline_and_every_answer_says_so(path, executed):
    nb = executed(path)  # raises CellExecutionError on an error in an untagged cell
    answers = answers_of(nb)
    assert answers, f"{path.name} shows no answer"
    offline = path.name not in THROUGH_A_GATEWAY
    for answer in answers:
        made = provenance(answer)
        assert made and all(m["offline"] is offline for m in made)
        shown = footers(answer)
        expected = 1 if "batch" in answer["metadata"]["dataoorts_magic"] else len(made)
        assert len(shown) == expected and all((" · offline" in footer) is offline for footer in shown), shown
    for cell in nb.cells:
        errors = [
            o
            for o in outputs(cell)
            if o["output_type"] == "error" or (o.get("name") == "stderr" and "Error" in o.get("text", ""))
        ]
        if tagged(cell, "raises-exception") and not cell.source.startswith("%"):
            # A learner's cell that fails on purpose, to ask about (Part 3 of teaching_parameters): its own error.
            assert [o["output_type"] for o in errors] == ["error"], cell.source
        elif tagged(cell, "raises-exception"):
            # The failure a cell is there to show: one line that says what to do, no traceback.
            assert len(errors) == 1 and errors[0]["output_type"] == "stream", cell.source
            assert errors[0]["text"].strip().count("\n") == 0, errors[0]["text"]
        else:
            assert not errors, (path.name, cell.source, errors)
    # No traceback, except the error a cell asks the model about (sent, echoed and printed on purpose).
    assert "Traceback" not in text_of(nb, skip=asks_about_an_error)


# ---------------------------------------------------------------- what each notebook is there to show


def test_quickstart_shows_formats_options_and_the_error(executed):
    nb = executed(REPO / "notebooks" / "quickstart.ipynb")
    assert len(answers_of(nb)) >= 4
    page = html_of(nb)
    assert "<table" in page and "codehilite" in page
    stderr = [o["text"] for c in nb.cells for o in outputs(c) if o.get("name") == "stderr"]
    assert len(stderr) == 1 and stderr[0].startswith("UsageError:") and "temperature" in stderr[0]
    printed = [o["text"] for c in nb.cells if c.source == "print(snippet)" for o in outputs(c)]
    assert printed and printed[0].strip() and "```" not in printed[0]  # -f code: -o got the bare source


def cell_outputs(nb, source_start: str) -> list[list[dict]]:
    """The outputs of every code cell whose source starts with ``source_start``."""
    return [outputs(c) for c in nb.cells if c.cell_type == "code" and c.source.startswith(source_start)]


def plain(outs: list[dict]) -> str:
    return "\n".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in outs)


def test_conversations_resend_history_then_cache_replay_and_budget(executed):
    nb = executed(REPO / "notebooks" / "conversations.ipynb")
    first, second = cell_outputs(nb, "%%llama -c tutor")
    assert "**messages**: 2 (system, user)" in plain(first)
    assert "**messages**: 4 (system, user, assistant, user)" in plain(second)  # the turn carried the history
    prompt_tokens = [
        o["metadata"]["dataoorts_magic"]["usage"]["prompt_tokens"]
        for o in first + second
        if "dataoorts_magic" in o.get("metadata", {})
    ]
    assert prompt_tokens[1] > 5 * prompt_tokens[0]
    assert "written to tutor.md" in plain(cell_outputs(nb, "%llama_history tutor --export")[0])
    assert "top-level keys in tutor.json" in text_of(nb)
    cached = [m for a in answers_of(nb) for m in provenance(a) if m["cached"]]
    assert len(cached) == 2 and all(c["cost"] == 0 for c in cached)  # the cache=on repeat and the replay
    replayed = cell_outputs(nb, "%%llama --seed 7\nGive one tip for reading a box plot.")
    recorded_text, replayed_text = (plain(outs).split("\n-- ")[0] for outs in replayed)
    assert replayed_text == recorded_text and " · cached" in plain(replayed[1])
    assert "No recorded answer" in plain(cell_outputs(nb, "%%llama --seed 7\nGive one tip for reading a scatter")[0])
    refused = plain(cell_outputs(nb, "%%llama -n 8000")[0])
    assert refused.startswith("UsageError: Budget reached") and "nothing was sent" in refused


def test_teaching_parameters_compares_values_side_by_side_and_opens_the_panel(executed):
    nb = executed(REPO / "notebooks" / "teaching_parameters.ipynb")
    shown = text_of(nb)
    assert "identical answers at temperature 0: True" in shown
    assert "seed 42 again, identical: True" in shown and "seed 7, identical to seed 42: False" in shown
    (temperatures,) = cell_outputs(nb, "%%llama --compare temperature=0,0.6,1.5")
    sent = [m["params"].get("temperature") for m in provenance(temperatures[0])]
    assert sent == [0, 0.6, 1.5]
    page = temperatures[0]["data"]["text/html"]
    assert (
        all(f"temperature={v}" in page for v in ("0", "0.6", "1.5"))
        and page.count('<div class="dataoorts-answer">') == 3
    )
    for start, param in (
        ("%%llama -t 1.2 --compare top_p", "top_p"),
        ("%%llama --compare frequency", "frequency_penalty"),
    ):
        (outs,) = cell_outputs(nb, start)
        assert all(param in m["params"] for m in provenance(outs[0]))
    refused = plain(cell_outputs(nb, "%%llama --compare top_k=1,80")[0])
    assert refused.startswith("UsageError: top_k=80") and "1 to 50" in refused
    (panel,) = cell_outputs(nb, "%llama_panel")
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in panel)
    # The worked table of temperatures: at T=0 the best word has it all, at T=3 it has about a quarter.
    (table,) = [
        o["data"]["text/plain"] for c in nb.cells if c.source.startswith('percent_table({f"T=') for o in outputs(c)
    ]
    assert table.split("\n")[1].split() == ["mat", "100.0", "97.8", "68.1", "50.2", "38.9", "26.4"]


def test_teaching_parameters_asks_about_a_failing_cell_and_proposes_a_fix(executed):
    nb = executed(REPO / "notebooks" / "teaching_parameters.ipynb")
    [failing] = [c for c in nb.cells if c.source.startswith('scores = {"mat"')]
    assert tagged(failing, "raises-exception") and [o["ename"] for o in outputs(failing)] == ["KeyError"]
    n = failing.execution_count
    # {Err[-1]} in nbclient: the error of the cell above, as %llama_explain sends it; the echo shows it
    (why,) = cell_outputs(nb, "%%llama\nWhy did my cell fail?")
    echo = plain(why)
    asked = (
        "**You asked:**\n\n> Why did my cell fail? Answer in two sentences.\n>\n> Traceback (most recent call last):"
    )
    assert asked in echo  # the echo quotes a prompt of many lines line by line
    assert f">   Cell In[{n}], line 2, in <module>" in echo and "> KeyError: 'moon'" in echo
    # -x 2 -f code: the fix's code block, highlighted, with the footer (the new cell is the browser test's)
    (fix,) = cell_outputs(nb, "%%llama -x 2 -f code")
    assert "codehilite" in fix[0]["data"]["text/html"] and " · offline" in plain(fix)
    # -x 3: the three cells before it, oldest first, in one block before the question, as .messages shows
    (seen,) = cell_outputs(nb, 'print(seen.messages[-1]["content"])')
    block = plain(seen)
    assert block.startswith("=== Notebook context: the 3 cells I ran before this question, oldest first ===\n")
    assert block.rstrip().endswith("=== End of notebook context: my question follows ===\n\nWhat do my last cells do?")
    at = [block.index(f"In [{k}]:\n```python\n") for k in (n, n + 1, n + 2)]
    assert at == sorted(at)
    assert f"Error in [{n}]:\n```text\nTraceback" in block and f"Out [{n + 1}]:\n````text\n## " in block
    assert "{Err[-1]}" in block  # a cell's source as typed
    assert f"Out [{n + 2}]:\n```text\n# a " in block  # a -f code cell showed its code: that is its result


def test_exploratory_analysis_labels_every_review_with_a_schema_reasks_once_and_reports_cost(executed):
    import pandas as pd

    data = pd.read_csv(REPO / "notebooks" / "data" / "reviews.csv")
    assert list(data.columns) == ["review_id", "product", "stars", "review"] and len(data) == 50
    assert set(data["stars"]) == {1, 2, 3, 4, 5} and data["product"].nunique() == 5
    nb = executed(REPO / "notebooks" / "exploratory_analysis.ipynb")
    (batch,) = cell_outputs(nb, "%%llama --over reviews")
    assert "-- 50 requests · " in plain(batch) and "failed" not in plain(batch)
    page = "".join(o.get("data", {}).get("text/html", "") for o in batch)
    assert "<div class='dataoorts-batch dataoorts-records'>" in page
    assert all(f"<th style='text-align:left'>{field}</th>" in page for field in ("sentiment", "rating", "topic"))
    (records,) = cell_outputs(nb, "labels.records")
    assert "'sentiment': " in plain(records) and "'topic': 'offline: " in plain(records)  # made up, and says so
    (dtypes,) = cell_outputs(nb, "table = labels.to_frame()")
    typed = dict(line.split() for line in plain(dtypes).splitlines() if len(line.split()) == 2)
    assert {k: typed[k] for k in ("sentiment", "rating", "topic", "prompt_tokens")} == {
        "sentiment": "category",
        "rating": "Int64",
        "topic": "string",
        "prompt_tokens": "Int64",
    }
    (joined,) = cell_outputs(nb, 'reviews["label"] = ')
    assert "label" in plain(joined) and "rating" in plain(joined)
    (instructions,) = cell_outputs(nb, 'print(labels[0].messages[0]["content"])')
    assert plain(instructions).startswith("You label customer reviews of household products.\n\nAnswer with one JSON")
    (reasked,) = cell_outputs(nb, "%%llama -t 0 -n 120 -o first_label")
    assert "· re-asked once: field 'sentiment': 'delighted' is not one of" in plain(reasked)
    (kept,) = cell_outputs(nb, "first_label")
    assert plain(kept).startswith("{'sentiment': ")
    shown = text_of(nb)
    assert 'assistant: {"sentiment": "mixed", "rating": 4.5' in shown  # ask(): the exchange in .messages
    assert "field 'rating': 4.5 is not of type 'integer'. Reply again" in shown
    assert re.search(r"labels agreeing with the stars: \d+%; ratings off by \d\.\d stars on average", shown)
    (summaries,) = cell_outputs(nb, "%%llama --over texts")
    assert "-- 5 requests · " in plain(summaries)
    (with_summary,) = cell_outputs(nb, 'stats["summary"]')
    assert all(product in plain(with_summary) for product in data["product"].unique())
    assert "labels           50 requests" in shown and "summaries         5 requests" in shown
    assert "100,000 reviews about $" in shown


def test_classroom_shows_a_students_session_through_the_gateway(executed):
    nb = executed(REPO / "notebooks" / "classroom.ipynb")
    assert "Added ada with a budget of $0.0005. Their token (shown once):" in text_of(nb)
    (answer,) = cell_outputs(nb, "%%llama -n 60")
    assert "16 → 60 tokens" in plain(answer) and " left of $0.0005" in plain(answer)  # the budget, in the footer
    (batch,) = cell_outputs(nb, "%%llama --over topics")
    assert "-- 3 requests · " in plain(batch)
    assert "ada: 4 answers, $" in text_of(nb)
    (paused,) = cell_outputs(nb, "%%llama\nWhat is the answer to question 3?")
    assert "HTTP 403, code 9403: Quiz time: no AI for 20 minutes (ask your teacher)" in plain(paused)
    whole = "The class gateway refused the request (HTTP 403, code 9403: Quiz time: no AI for 20 minutes"
    assert plain(paused).strip().endswith(f"{whole} (ask your teacher))")  # the teacher's words: the whole advice
    (refused,) = cell_outputs(nb, "%%llama -n 8000")
    assert "HTTP 429, code 3036: budget used up: $0.0000" in plain(refused) and "ask your teacher" in plain(refused)
    assert plain(refused).strip().endswith("; ask your teacher)") and "Dataoorts account" not in plain(refused)
    (table,) = cell_outputs(nb, "!{teacher} usage")
    assert plain(table).splitlines()[1].split()[:2] == ["ada", "4"]
