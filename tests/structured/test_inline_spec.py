"""--schema SPEC as the user writes it: inline specs (good and bad), JSON Schema dicts, pydantic classes."""

from __future__ import annotations

from typing import Literal

import pydantic
import pytest

from dataoorts_magic.errors import LlamaError, SchemaError, ValidationError
from dataoorts_magic.structured.inline_spec import parse_spec
from dataoorts_magic.structured.schema import from_value, resolve


def test_an_inline_spec_compiles_to_a_strict_json_schema():
    schema = parse_spec("sentiment: positive|negative|neutral, stars: int, topic: str, note: str?")
    assert schema == {
        "type": "object",
        "properties": {
            "sentiment": {"type": "string", "enum": ["positive", "negative", "neutral"]},
            "stars": {"type": "integer"},
            "topic": {"type": "string"},
            "note": {"type": ["string", "null"]},
        },
        "required": ["sentiment", "stars", "topic"],
        "additionalProperties": False,
    }


@pytest.mark.parametrize(
    "spec, field",
    [
        ("x: float", {"type": "number"}),
        ("x: bool", {"type": "boolean"}),
        ("x: list[str]", {"type": "array", "items": {"type": "string"}}),
        ("x: list[int]", {"type": "array", "items": {"type": "integer"}}),
        ("x: list[a|b]", {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}),
        ("x: Integer", {"type": "integer"}),
        ("x: string", {"type": "string"}),
        ("x: 'very good' | bad", {"type": "string", "enum": ["very good", "bad"]}),
    ],
)
def test_every_inline_type(spec, field):
    assert parse_spec(spec)["properties"]["x"] == field


def test_optional_fields_may_be_left_out_or_null_and_new_lines_separate_fields_too():
    schema = parse_spec("label: yes|no?\nnote?: str,\n")
    assert schema["required"] == []
    assert schema["properties"]["label"] == {"type": ["string", "null"], "enum": ["yes", "no", None]}
    assert schema["properties"]["note"] == {"type": ["string", "null"]}


@pytest.mark.parametrize(
    "spec, words",
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("sentiment", "has no type: write sentiment: str"),
        ("stars: integr", "unknown type 'integr'"),
        ("stars:", "unknown type '(nothing)'"),
        ("a: int, a: str", "names the field 'a' twice"),
        ("my field: int", "'my field' is not a name"),
        ("1st: int", "'1st' is not a name"),
        ("tags: list[str", "unclosed '['"),
        ("tags: list[list[str]]", "list of lists"),
        ("mood: good||bad", "empty choice"),
        ("mood: good|bad|good", "repeats the choice 'good'"),
    ],
)
def test_a_spec_that_does_not_parse_is_one_line_that_names_the_problem(spec, words):
    with pytest.raises(SchemaError) as caught:
        parse_spec(spec)
    message = str(caught.value)
    assert words in message and "\n" not in message
    assert isinstance(caught.value, ValidationError) and isinstance(caught.value, LlamaError)


def test_fields_say_what_column_each_one_makes():
    schema = from_value("mood: good|bad, stars: int, score: float, ok: bool, tags: list[str], note: str?")
    kinds = [(f.name, f.kind, f.required) for f in schema.fields]
    assert kinds == [
        ("mood", "enum", True),
        ("stars", "int", True),
        ("score", "float", True),
        ("ok", "bool", True),
        ("tags", "list", True),
        ("note", "str", False),
    ]
    assert schema.fields[0].choices == ("good", "bad") and schema.fields[4].items == "str"


def test_a_json_schema_dict_is_checked_and_used_as_given():
    given = {
        "type": "object",
        "properties": {"stars": {"type": "integer", "minimum": 1, "maximum": 5}, "tone": {"enum": ["calm", "angry"]}},
        "required": ["stars"],
    }
    schema = from_value(given, "review_schema")
    assert schema.json is given and schema.model is None
    assert [(f.name, f.kind, f.required) for f in schema.fields] == [("stars", "int", True), ("tone", "enum", False)]


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"type": "object", "properties": {"x": {"type": "integr"}}}, "is not a valid JSON Schema"),
        ({"type": "array", "items": {"type": "string"}}, "must describe one JSON object"),
        ({"type": "object"}, "must describe one JSON object"),
    ],
)
def test_a_bad_json_schema_dict_is_refused_with_its_name(bad, words):
    with pytest.raises(SchemaError, match=words) as caught:
        from_value(bad, "review_schema")
    assert str(caught.value).startswith("review_schema ")


class Review(pydantic.BaseModel):
    sentiment: Literal["positive", "negative"]
    stars: int = pydantic.Field(description="1 to 5 stars")
    note: str | None = None


def test_a_pydantic_class_gives_its_schema_and_keeps_the_class_for_validation():
    schema = from_value(Review)
    assert schema.model is Review and schema.name == "Review"
    assert [(f.name, f.kind, f.required) for f in schema.fields] == [
        ("sentiment", "enum", True),
        ("stars", "int", True),
        ("note", "str", False),
    ]
    assert schema.fields[1].description == "1 to 5 stars"


def test_schema_names_a_variable_or_is_inline():
    namespace = {"Review": Review, "plain": {"type": "object", "properties": {"a": {"type": "string"}}}, "n": 3}
    assert resolve("Review", namespace).model is Review
    assert resolve(" plain ", namespace).names == ["a"]
    assert resolve("a: int", namespace).names == ["a"]
    with pytest.raises(SchemaError, match="there is no variable Missing"):
        resolve("Missing", namespace)
    with pytest.raises(SchemaError, match="n is of type int: give an inline spec"):
        resolve("n", namespace)
