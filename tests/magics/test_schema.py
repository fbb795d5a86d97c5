"""%%llama --schema in a real shell: the instructions sent, the dict in -o, the re-ask, and errors before sending."""

from __future__ import annotations

import json

import pydantic
import pytest
from support.scripted_server import ok
from support.shell import KEY, everything_shown, run

from dataoorts_magic.store.log import ExchangeLog

SPEC = '"sentiment: positive|negative|neutral, stars: int, note: str?"'


def sent(server, i=-1) -> list[dict]:
    return server.requests[i].json["data"]["messages"]


def test_the_dict_goes_to_out_and_the_instructions_are_in_the_system_prompt(ip, scripted):
    scripted.script(ok('Here you are:\n```json\n{"sentiment": "negative", "stars": 2}\n```'))
    result, cap = run(ip, f'%%llama -s "You label reviews." --schema {SPEC} -o label\nLeaks after a week.')
    assert result.success, cap.stderr
    assert ip.user_ns["label"] == {"sentiment": "negative", "stars": 2}
    system, user = sent(scripted)
    assert system["role"] == "system" and system["content"].startswith("You label reviews.\n\nAnswer with one JSON")
    assert '"stars": an integer' in system["content"] and user["content"] == "Leaks after a week."
    assert len(scripted.requests) == 1
    assert "stream" not in scripted.requests[0].json["data"]
    bundle = cap.outputs[0].data
    assert "application/json" not in bundle  # JupyterLab would show its JSON tree and no footer
    assert '"sentiment": "negative"' in bundle["text/markdown"] and "dataoorts-footer" in bundle["text/html"]
    assert "<td style='text-align:left'>sentiment</td><td style='text-align:left'>negative</td>" in bundle["text/html"]


def test_a_conversation_keeps_only_the_valid_answer_and_not_the_instructions(ip, magics, scripted):
    magics.llama_session.conversations.clear()
    scripted.script(ok("no idea"), ok('{"sentiment": "neutral", "stars": 3}'), ok("Because it was fine."))
    result, cap = run(ip, f'%%llama -c rev -s "You label reviews." --schema {SPEC}\nFine, I guess.')
    assert result.success, cap.stderr
    (turn,) = magics.llama_session.conversations.get("rev").turns
    assert turn["assistant"] == '{"sentiment": "neutral", "stars": 3}'
    run(ip, "%%llama -c rev\nWhy?")
    assert [(m["role"], m["content"]) for m in sent(scripted)] == [
        ("system", "You label reviews."),
        ("user", "Fine, I guess."),
        ("assistant", '{"sentiment": "neutral", "stars": 3}'),
        ("user", "Why?"),
    ]


def test_an_invalid_answer_is_asked_again_once_with_the_problem_quoted(ip, scripted, tmp_path):
    scripted.script(ok('Sure! {"sentiment": "great", "stars": 4}'), ok('{"sentiment": "positive", "stars": 4}'))
    result, cap = run(ip, f"%%llama --schema {SPEC} -o label\nLove it.")
    assert result.success, cap.stderr
    assert ip.user_ns["label"] == {"sentiment": "positive", "stars": 4}
    assert len(scripted.requests) == 2
    first, again = sent(scripted, 0), sent(scripted, 1)
    assert again[: len(first)] == first
    assert again[len(first)] == {"role": "assistant", "content": 'Sure! {"sentiment": "great", "stars": 4}'}
    correction = again[-1]
    assert correction["role"] == "user"
    assert "field 'sentiment': 'great' is not one of ['positive', 'negative', 'neutral']" in correction["content"]
    footer = cap.outputs[0].data["text/plain"].rsplit("\n-- ", 1)[1]
    assert "24 → 10 tokens" in footer and "re-asked once: field 'sentiment'" in footer  # both exchanges counted
    rows = ExchangeLog(tmp_path / "log.sqlite3").rows()
    assert len(rows) == 2 and [len(json.loads(r["messages"])) for r in rows] == [len(first), len(again)]


def test_still_invalid_fails_in_one_line_naming_the_field_and_keeps_the_answer(ip, scripted):
    scripted.script(ok('{"sentiment": "positive", "stars": "four"}'), ok('{"sentiment": "positive", "stars": "4!"}'))
    result, cap = run(ip, f"%%llama --schema {SPEC} -o label\nLove it.")
    assert not result.success and len(scripted.requests) == 2
    line = cap.stderr.strip()
    assert line.startswith("UsageError: The answer does not match the schema, also when asked again: field 'stars'")
    assert "\n" not in line and "label holds it" in line
    kept = ip.user_ns["label"]
    assert kept.text == '{"sentiment": "positive", "stars": "4!"}' and kept.data is None
    assert kept.usage.prompt_tokens == 24 and "4!" in cap.outputs[0].data["text/plain"]


@pytest.mark.parametrize(
    "cell, words",
    [
        ('%%llama --schema "stars: integr"\nHi', "unknown type 'integr'"),
        ('%%llama --schema ""\nHi', "The schema is empty"),
        ("%%llama --schema Unknown\nHi", "there is no variable Unknown"),
        ('%%llama --schema "a: int" -f json\nHi', "-f does not apply with --schema"),
        ('%%llama --schema "a: int" --stream\nHi', "--stream does not apply with --schema"),
        ('%%llama --schema "a: int" -t 9\nHi', "temperature=9 is out of range"),
    ],
)
def test_a_bad_schema_or_flag_is_one_line_and_nothing_is_sent(ip, scripted, cell, words):
    result, cap = run(ip, cell)
    assert not result.success and words in cap.stderr and cap.stderr.strip().count("\n") == 0
    assert scripted.requests == []


class Review(pydantic.BaseModel):
    sentiment: str
    stars: int


def test_a_variable_holding_a_json_schema_dict_or_a_pydantic_class(ip, scripted):
    ip.user_ns["Review"] = Review
    ip.user_ns["review_schema"] = {
        "type": "object",
        "properties": {"stars": {"type": "integer", "minimum": 1, "maximum": 5}},
        "required": ["stars"],
    }
    scripted.script(ok('{"stars": 9}'), ok('{"stars": 5}'), ok('{"sentiment": "ok", "stars": "3"}'))
    result, cap = run(ip, "%%llama --schema review_schema -o a\nRate it.")
    assert result.success, cap.stderr
    assert ip.user_ns["a"] == {"stars": 5} and "9 is greater than the maximum of 5" in sent(scripted, 1)[-1]["content"]
    result, cap = run(ip, "%%llama --schema Review -o b\nRate it.")
    assert result.success, cap.stderr
    assert ip.user_ns["b"] == {"sentiment": "ok", "stars": 3}  # pydantic's own coercion
    assert '"title":"Review"' in sent(scripted)[0]["content"]


def test_values_from_the_model_are_escaped_in_the_table(ip, scripted):
    scripted.script(ok(json.dumps({"sentiment": "positive", "stars": 1, "note": "<img src=x onerror=alert(1)>"})))
    result, cap = run(ip, f"%%llama --schema {SPEC}\nHi")
    assert result.success, cap.stderr
    page = cap.outputs[0].data["text/html"]
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert KEY not in everything_shown(cap)


def test_compare_with_a_schema_validates_every_column(ip, online):
    result, cap = run(ip, f"%%llama --compare seed=1,2 --schema {SPEC} -o both\nThe lid is stiff.")
    assert result.success, cap.stderr
    both = ip.user_ns["both"]
    assert [set(r.data) for r in both] == [{"sentiment", "stars", "note"}] * 2
    assert cap.outputs[0].data["text/html"].count("<table>") == 2


@pytest.mark.slow
def test_load_ext_imports_no_schema_library_and_an_inline_schema_never_imports_pydantic(tmp_path):
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'dataoorts_magic')\n"
        "print(sorted(m for m in ('jsonschema', 'pydantic', 'pandas') if m in sys.modules))\n"
        "ip.run_cell('%%llama -q -o d --schema \"stars: int\"\\nRate it.')\n"
        "print(sorted(m for m in ('jsonschema', 'pydantic', 'pandas') if m in sys.modules), sorted(ip.user_ns['d']))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOORTS_")}
    env.update(DATAOORTS_OFFLINE="1", DATAOORTS_MAGIC_HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "['jsonschema'] ['stars']"]
