"""Reading and validating a structured answer: fenced, prefixed, invalid and wrong-typed answers; the instructions."""

from __future__ import annotations

import json
from typing import Literal

import pydantic
import pytest

from dataoorts_magic.structured.answers import SCHEMA_LINE, Mismatch, check, instructions
from dataoorts_magic.structured.schema import from_value

SPEC = "sentiment: positive|negative|neutral, stars: int, topic: str, note: str?"
GOOD = {"sentiment": "positive", "stars": 4, "topic": "kettle"}


@pytest.fixture
def schema():
    return from_value(SPEC)


@pytest.mark.parametrize(
    "answer",
    [
        json.dumps(GOOD),
        "```json\n" + json.dumps(GOOD, indent=2) + "\n```",
        "```\n" + json.dumps(GOOD) + "\n```",
        "Here is the JSON you asked for:\n\n```json\n" + json.dumps(GOOD) + "\n```\nHope it helps!",
        "Sure! " + json.dumps(GOOD),
        "Sure! " + json.dumps(GOOD) + " Let me know if you need more.",
        "The review is positive.\n" + json.dumps(GOOD, indent=2),
    ],
    ids=["bare", "fenced json", "fenced", "sentence and fence", "prefixed", "prefixed and trailed", "after a line"],
)
def test_the_object_is_found_in_fences_and_after_a_sentence(schema, answer):
    assert check(answer, schema) == GOOD


@pytest.mark.parametrize(
    "answer, problem",
    [
        ("", "the answer is empty"),
        ("I think it is positive.", "the answer holds no JSON object"),
        ('{"sentiment": "positive", "stars": 4,', "the answer holds no JSON object"),  # cut off
        ("[" + json.dumps(GOOD) + "]", "the answer is a JSON array, not one object"),
        (json.dumps({**GOOD, "stars": "five"}), "field 'stars': 'five' is not of type 'integer'"),
        (json.dumps({**GOOD, "stars": 4.5}), "field 'stars': 4.5 is not of type 'integer'"),
        (json.dumps({**GOOD, "stars": True}), "field 'stars': True is not of type 'integer'"),
        (json.dumps({**GOOD, "sentiment": "great"}), "field 'sentiment': 'great' is not one of"),
        (json.dumps({"sentiment": "positive", "topic": "x"}), "field 'stars' is missing"),
        (json.dumps({**GOOD, "mood": "calm"}), "field 'mood' is not in the schema"),
        (json.dumps({**GOOD, "note": 3}), "field 'note': 3 is not of type"),
    ],
)
def test_an_invalid_or_wrong_typed_answer_names_the_problem_in_one_line(schema, answer, problem):
    with pytest.raises(Mismatch) as caught:
        check(answer, schema)
    assert str(caught.value).startswith(problem) and "\n" not in str(caught.value)


def test_optional_fields_may_be_null_or_missing_and_whole_floats_are_integers(schema):
    assert check(json.dumps({**GOOD, "note": None}), schema) == {**GOOD, "note": None}
    data = check(json.dumps({**GOOD, "stars": 4.0}), schema)
    assert data["stars"] == 4 and isinstance(data["stars"], int)


def test_a_nested_problem_names_its_path():
    schema = from_value({"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}})
    with pytest.raises(Mismatch, match=r"^field 'tags/1': 2 is not of type 'string'"):
        check('{"tags": ["a", 2]}', schema)


class Review(pydantic.BaseModel):
    sentiment: Literal["positive", "negative"]
    stars: int


def test_a_pydantic_class_validates_with_pydantic_and_gives_a_plain_dict():
    schema = from_value(Review)
    assert check('Answer: {"sentiment": "negative", "stars": "2"}', schema) == {"sentiment": "negative", "stars": 2}
    with pytest.raises(Mismatch, match=r"^field 'stars': Input should be a valid integer.*\(got \"many\"\)"):
        check('{"sentiment": "negative", "stars": "many"}', schema)
    with pytest.raises(Mismatch, match=r"^field 'sentiment' is missing"):
        check('{"stars": 2}', schema)


def test_the_instructions_say_the_fields_in_words_then_give_the_schema(schema):
    text = instructions(schema)
    assert text.startswith("Answer with one JSON object and nothing else")
    assert '- "sentiment": one of "positive", "negative", "neutral"' in text
    assert '- "stars": an integer' in text and '- "note": a string (optional: may be null)' in text
    assert "No other fields." in text
    last = text.splitlines()[-1]
    assert last.startswith(SCHEMA_LINE) and json.loads(last[len(SCHEMA_LINE) :]) == schema.json
