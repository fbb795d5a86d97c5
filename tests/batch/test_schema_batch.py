"""%%llama --over VAR --schema: records, a typed to_frame() beside the input columns, and a table of the fields."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from support.scripted_server import ok
from support.shell import run

from dataoorts_magic.batch.result import BatchResult

SPEC = (
    '"sentiment: positive|negative|mixed, stars: int, score: float, ok: bool, topic: str, tags: list[str], note: str?"'
)
FIELDS = ["sentiment", "stars", "score", "ok", "topic", "tags", "note"]


@pytest.fixture
def reviews():
    return pd.DataFrame(
        {
            "product": ["kettle", "lamp", "fan", "toaster"],
            "stars": [5, 1, 3, 4],
            "review": ["Quick.", "Dim.", "Ok.", "Even."],
        },
        index=pd.Index([11, 12, 13, 14], name="review_id"),
    )


def test_a_dataframe_batch_gives_one_typed_column_per_field_beside_the_input(ip, online, reviews):
    ip.user_ns["reviews"] = reviews
    result, cap = run(ip, f"%%llama --over reviews --schema {SPEC} -j 4 -o labels\n{{product}}: {{review}}")
    assert result.success, cap.stderr
    labels = ip.user_ns["labels"]
    assert isinstance(labels, BatchResult) and labels.errors == {}
    assert [set(r) for r in labels.records] == [set(FIELDS)] * 4
    frame = labels.to_frame()
    assert list(frame.index) == [11, 12, 13, 14] and frame.index.name == "review_id"
    assert list(frame.columns) == [
        "product",
        "stars",
        "review",
        "sentiment",
        "stars_llama",  # the field named like an input column does not overwrite it
        "score",
        "ok",
        "topic",
        "tags",
        "note",
        "error",
        "prompt_tokens",
        "completion_tokens",
        "cost",
        "elapsed",
    ]
    dtypes = {c: str(t) for c, t in frame.dtypes.items()}
    assert {c: dtypes[c] for c in ("sentiment", "stars_llama", "score", "ok", "topic", "tags", "note")} == {
        "sentiment": "category",
        "stars_llama": "Int64",
        "score": "float64",
        "ok": "boolean",
        "topic": "string",
        "tags": "object",
        "note": "string",
    }
    assert list(frame["sentiment"].cat.categories) == ["positive", "negative", "mixed"]
    assert frame["stars"].tolist() == [5, 1, 3, 4]  # the input column is untouched
    assert dtypes["prompt_tokens"] == "Int64" and dtypes["cost"] == "float64" and frame["error"].isna().all()
    assert frame["topic"].str.startswith("offline:").all()


def test_the_display_is_a_table_of_the_fields_with_totals(ip, online, reviews):
    ip.user_ns["reviews"] = reviews
    _, cap = run(ip, f"%%llama --over reviews --schema {SPEC} -o labels\n{{product}}: {{review}}")
    (shown,) = [o for o in cap.outputs if "dataoorts_magic" in o.metadata]
    page, text = shown.data["text/html"], shown.data["text/plain"]
    assert "<div class='dataoorts-batch dataoorts-records'><table>" in page
    # issue 20 (9): the field named like the input's column "stars" is "stars_llama" here as in to_frame()
    shown_fields = [f"{n}_llama" if n == "stars" else n for n in FIELDS]
    assert all(f"<th style='text-align:left'>{name}</th>" in page for name in shown_fields)
    assert text.startswith("BatchResult over 4 items, fields: " + ", ".join(shown_fields))
    assert text.rstrip().rsplit("\n-- ", 1)[1].startswith("4 requests · ")
    assert len(shown.metadata["dataoorts_magic"]["batch"]["items"]) == 4


def test_a_failed_item_keeps_its_error_and_what_it_cost(ip, scripted):
    good = json.dumps({"sentiment": "positive", "stars": 5})
    scripted.script(ok(good), ok('{"sentiment": "meh", "stars": 2}'), ok('{"sentiment": "meh"}'), ok(good))
    ip.user_ns["texts"] = ["Great.", "Hmm.", "Lovely."]
    result, cap = run(
        ip, '%%llama --over texts -j 1 --schema "sentiment: positive|negative, stars: int" -o out\n{item}'
    )
    assert result.success, cap.stderr  # one failed item does not fail the batch
    out = ip.user_ns["out"]
    assert out.records == [{"sentiment": "positive", "stars": 5}, None, {"sentiment": "positive", "stars": 5}]
    assert out.errors[1].startswith(
        "The answer does not match the schema, also when asked again: field 'stars' is missing"
    )
    frame = out.to_frame()
    assert frame["sentiment"].isna().tolist() == [False, True, False] and str(frame["stars"].dtype) == "Int64"
    assert frame["prompt_tokens"].tolist() == [12, 24, 12]  # the failed item paid for two exchanges
    assert out.usage.prompt_tokens == 48 and out.cost == pytest.approx(frame["cost"].sum())
    assert out.totals().startswith("3 requests · 1 failed · 48 → 20 tokens")
    assert "⚠ The answer does not match the schema" in cap.outputs[-1].data["text/plain"]


def test_a_series_batch_has_item_and_the_index(ip, online):
    ip.user_ns["notes"] = pd.Series(["Too loud.", "Perfect."], index=["a", "b"])
    result, cap = run(ip, '%%llama --over notes --schema "loud: bool, mood: str" -o out\n{item}')
    assert result.success, cap.stderr
    frame = ip.user_ns["out"].to_frame()
    assert list(frame.index) == ["a", "b"] and list(frame.columns[:3]) == ["item", "loud", "mood"]
    assert str(frame["loud"].dtype) == "boolean" and str(frame["mood"].dtype) == "string"


def test_model_values_are_escaped_in_the_batch_table(ip, scripted):
    evil = json.dumps({"mood": "<script>alert(1)</script>", "n": 1})
    scripted.script(ok(evil))
    ip.user_ns["one"] = ["x"]
    result, cap = run(ip, '%%llama --over one --schema "mood: str, n: int" -o out\n{item}')
    assert result.success, cap.stderr
    page = cap.outputs[-1].data["text/html"]
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_issue_20_9_the_table_names_a_field_as_to_frame_does(ip, online, reviews):
    ip.user_ns["reviews"] = reviews
    result, cap = run(ip, f"%%llama --over reviews --schema {SPEC} -j 4 -o labels\n{{product}}: {{review}}")
    assert result.success, cap.stderr
    frame = ip.user_ns["labels"].to_frame()
    assert "stars_llama" in frame.columns and list(frame["stars"]) == [5, 1, 3, 4]
    html = cap.outputs[0].data["text/html"]
    plain = cap.outputs[0].data["text/plain"]
    assert ">stars_llama<" in html and ">stars<" not in html  # the model's field, named as in the frame
    assert "stars_llama" in plain.splitlines()[0] and "fields: sentiment, stars," not in plain
