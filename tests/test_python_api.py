"""dataoorts_magic.ask / ask_each: in a plain ``python`` process with no IPython shell, and sharing the
loaded extension's session; bad arguments raise LlamaError with the magics' line and nothing is sent."""

from __future__ import annotations

import json
import os
import pydoc
import subprocess
import sys
import textwrap

import pytest
from support.scripted_server import ok
from support.shell import KEY, run

import dataoorts_magic


def plain_python(code: str, tmp_path, **env) -> dict:
    """Run ``code`` in a fresh ``python`` (no IPython) with only the given DATAOORTS_ variables; its last
    stdout line is JSON."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DATAOORTS_")}
    environ.update(DATAOORTS_MAGIC_HOME=str(tmp_path), **env)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=environ, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert KEY not in done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_ask_and_ask_each_in_a_plain_process_from_the_environment(tmp_path):
    out = plain_python(
        """
        import json, sys
        import pandas as pd
        import dataoorts_magic

        r = dataoorts_magic.ask("Leaks after a week.", schema="sentiment: positive|negative, stars: int")
        plain = dataoorts_magic.ask("Explain a p-value in one line.", temperature=0, max_tokens=40)
        reviews = pd.DataFrame({"product": ["kettle", "lamp", "fan"], "review": ["Leaks.", "Too dim.", "Quiet!"]})
        spec = "sentiment: positive|negative|mixed, stars: int"
        labels = dataoorts_magic.ask_each(reviews, "{product}: {review}", schema=spec)
        words = dataoorts_magic.ask_each(["alpha", "beta"], "Define {item}.", concurrency=2)
        frame = labels.to_frame()
        print(json.dumps({
            "data": r.data, "offline": r.offline, "system": r.messages[0]["content"][:27],
            "plain": plain.text[:40], "max_tokens": plain.params["max_tokens"],
            "records": labels.records, "dtypes": {c: str(t) for c, t in frame.dtypes.items()},
            "words": [t.rsplit("**You asked:** ", 1)[1].strip() for t in words.texts],
            "ipython": "IPython" in sys.modules,
        }))
        """,
        tmp_path,
        DATAOORTS_OFFLINE="1",
    )
    assert out["ipython"] is False
    assert set(out["data"]) == {"sentiment", "stars"} and out["offline"] is True
    assert out["system"] == "Answer with one JSON object"
    assert out["plain"] and out["max_tokens"] == 40
    assert [set(r) for r in out["records"]] == [{"sentiment", "stars"}] * 3
    assert out["dtypes"]["sentiment"] == "category" and out["dtypes"]["stars"] == "Int64"
    assert out["words"] == ["Define alpha.", "Define beta."]
    assert (tmp_path / "log.sqlite3").exists()  # the log applies outside IPython too


BAD_CALLS = {
    "out of range": ('dataoorts_magic.ask("Hi", temperature=9)', "ValidationError", "temperature=9 is out of range"),
    "unknown parameter": ('dataoorts_magic.ask("Hi", temprature=1)', "ValidationError", "unknown parameter"),
    "bad spec": ('dataoorts_magic.ask("Hi", schema="stars: integr")', "SchemaError", "unknown type 'integr'"),
    "bad schema value": ('dataoorts_magic.ask("Hi", schema=[1])', "SchemaError", "schema is of type list"),
    "prompt not text": ('dataoorts_magic.ask(["a", "b"])', "ValidationError", "ask_each(items, prompt)"),
    "empty prompt": ('dataoorts_magic.ask("  ")', "ValidationError", "The prompt is empty"),
    "string items": ('dataoorts_magic.ask_each("abc", "Say {item}")', "ValidationError", "not a batch"),
    "no {item}": ('dataoorts_magic.ask_each(["a"], "Say hi")', "ValidationError", "does not use {item}"),
    "concurrency": ('dataoorts_magic.ask_each(["a"], "{item}", concurrency=100)', "ValidationError", "1 to 64"),
    "chat": ('dataoorts_magic.ask_each(["a"], "{item}", chat="c")', "ValidationError", "chat applies to a single"),
}


def test_bad_arguments_raise_llama_errors_and_nothing_is_sent(scripted, tmp_path):
    calls = "\n".join(
        f"try:\n    {call}\nexcept dataoorts_magic.LlamaError as err:\n    seen.append([type(err).__name__, str(err)])"
        for call, _, _ in BAD_CALLS.values()
    )
    seen = plain_python(
        "import json, dataoorts_magic\nseen = []\n" + calls + "\nprint(json.dumps(seen))",
        tmp_path,
        DATAOORTS_API_URL=scripted.url,
        DATAOORTS_API_KEY=KEY,
    )
    assert len(seen) == len(BAD_CALLS)
    for (name, (_, kind, words)), (raised, message) in zip(BAD_CALLS.items(), seen, strict=True):
        assert raised == kind and words in message and "\n" not in message, name
    assert scripted.requests == []


def test_the_python_api_says_the_same_line_as_the_magic(ip, scripted, tmp_path):
    _, cap = run(ip, "%%llama -t 9\nHi")
    (kind, message), *_ = plain_python(
        'import json, dataoorts_magic\ntry:\n    dataoorts_magic.ask("Hi", temperature=9)\n'
        "except dataoorts_magic.LlamaError as err:\n    print(json.dumps([[type(err).__name__, str(err)]]))",
        tmp_path,
        DATAOORTS_API_URL=scripted.url,
        DATAOORTS_API_KEY=KEY,
    )
    assert cap.stderr.strip() == f"UsageError: {message}"
    with pytest.raises(dataoorts_magic.LlamaError) as caught:
        dataoorts_magic.ask("Hi", temperature=9)  # in the test process, the loaded extension's session
    assert str(caught.value) == message and scripted.requests == []


def _broken_reader():
    yield "first"
    raise OSError("disk gone")


PYTHON_WORDS = {
    "a string": (
        lambda: dataoorts_magic.ask_each("abc", "Say {item}"),
        "ask_each(): items is a str, not a batch (a string would be split into characters). "
        "Put the texts in a list: items=['first', 'second'].",
    ),
    "not iterable": (
        lambda: dataoorts_magic.ask_each(42, "Say {item}"),
        "ask_each(): items is a int, which cannot be iterated: give a list, tuple, pandas Series or DataFrame.",
    ),
    "raises while read": (
        lambda: dataoorts_magic.ask_each(_broken_reader(), "Say {item}"),
        "ask_each(): reading item 1 of items raised OSError: disk gone; nothing was sent. "
        "Fix it (or build a list first) and call ask_each again.",
    ),
    "no {item}": (
        lambda: dataoorts_magic.ask_each(["a", "b"], "Say hi"),
        "The prompt does not use {item}, so every request of ask_each() would be the same: "
        "put {item} where each value should go.",
    ),
    "too many": (
        lambda: dataoorts_magic.ask_each(["a"], "{item}", concurrency=100),
        "concurrency=100 is out of range: use 1 to 64 requests in flight.",
    ),
    "too few": (
        lambda: dataoorts_magic.ask_each(["a"], "{item}", concurrency=0),
        "concurrency=0 is out of range: use 1 to 64 requests in flight.",
    ),
}


@pytest.mark.parametrize("case", PYTHON_WORDS)
def test_ask_each_errors_speak_of_its_arguments_not_the_magics_flags(ip, scripted, case):
    call, line = PYTHON_WORDS[case]
    with pytest.raises(dataoorts_magic.LlamaError) as caught:
        call()
    assert str(caught.value) == line
    assert "--over" not in line and "-j" not in line
    assert scripted.requests == []


def test_no_key_in_a_plain_process_raises_before_sending(tmp_path):
    seen = plain_python(
        """
        import json, dataoorts_magic
        seen = []
        for call in (lambda: dataoorts_magic.ask("Hi"), lambda: dataoorts_magic.ask_each(["a", "b"], "{item}")):
            try:
                call()
            except dataoorts_magic.LlamaError as err:
                seen.append(type(err).__name__)
        print(json.dumps(seen))
        """,
        tmp_path,
    )
    assert seen == ["MissingKeyError", "MissingKeyError"]


def test_with_the_extension_loaded_ask_shares_its_session(ip, magics, scripted):
    magics.llama_session.conversations.clear()
    scripted.script(ok("First."), ok('Sure: {"stars": "x"}'), ok('{"stars": 4}'))
    run(ip, "%llama_config temperature=0.2")
    spent_before = magics.llama_session.spent
    run(ip, "%%llama -c shared\nHello")
    r = dataoorts_magic.ask("Rate it.", chat="shared", schema="stars: int")
    assert r.data == {"stars": 4} and r.usage.prompt_tokens == 24  # both exchanges counted
    assert [req.json["data"]["temperature"] for req in scripted.requests] == [0.2, 0.2, 0.2]
    assert [m["content"] for m in scripted.requests[1].json["data"]["messages"]][1:3] == ["Hello", "First."]
    assert "field 'stars': 'x' is not of type 'integer'" in scripted.requests[2].json["data"]["messages"][-1]["content"]
    assert len(magics.llama_session.conversations.get("shared").turns) == 2
    assert magics.llama_session.spent - spent_before == pytest.approx(3 * r.cost / 2)  # three exchanges, one budget


def test_help_says_how_to_call_it():
    text = pydoc.render_doc(dataoorts_magic.ask, renderer=pydoc.plaintext)
    assert "ask(prompt, *, system=None, model=None, chat=None, schema=None, **params)" in text
    assert "r.data" in text and "DATAOORTS_OFFLINE=1" in text and "LlamaError" in text
    assert "BatchResult" in pydoc.render_doc(dataoorts_magic.ask_each, renderer=pydoc.plaintext)
