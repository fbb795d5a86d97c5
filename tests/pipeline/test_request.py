"""The typed request: one immutable object, built by one function, the same from every door."""

from __future__ import annotations

import pytest

from dataoorts_magic.pipeline.conversations import Conversations
from dataoorts_magic.pipeline.request import Request, build_request, with_texts
from dataoorts_magic.structured.answers import instructions
from dataoorts_magic.structured.schema import from_value

SETTINGS = {
    "model": "meta/llama-3.1-8b-instruct",
    "system": None,
    "format": "markdown",
    "stream": True,
    "temperature": None,
    "top_p": None,
    "top_k": None,
    "max_tokens": 64,
    "seed": None,
    "repetition_penalty": None,
    "frequency_penalty": None,
    "presence_penalty": None,
}


def build(prompt="Hi", system=None, **kw):
    return build_request(prompt, {}, {**SETTINGS, "system": system}, Conversations(), **kw)


@pytest.fixture
def schema():
    return from_value("sentiment: positive|negative|neutral, stars: int, note: str?")


def test_a_request_is_immutable():
    req = build()
    assert isinstance(req, Request)
    with pytest.raises(AttributeError):
        req.model = "another/model"
    with pytest.raises(TypeError):
        req.messages[0] = {"role": "user", "content": "changed"}
    assert req.messages == ({"role": "user", "content": "Hi"},)
    assert req.params == {"max_tokens": 64} and req.stream is True and req.format == "markdown"


def test_equal_inputs_make_equal_requests():
    assert build("Same", "Be terse.") == build("Same", "Be terse.")
    assert build("Same") != build("Other")


def test_a_schema_appends_to_the_system_prompt_or_adds_one(schema):
    """Moved from tests/structured/test_answers.py (structured.apply became build_request's schema=)."""
    with_system = build(system="You label reviews.", schema=schema)
    assert with_system.messages[0]["content"].startswith("You label reviews.\n\nAnswer with one JSON object")
    assert with_system.stream is False and with_system.schema is schema
    without = build(schema=schema)
    assert [m["role"] for m in without.messages] == ["system", "user"]
    assert without.messages[0]["content"] == instructions(schema)
    assert without.system is None  # the user's system prompt, without the instructions


def test_with_texts_shares_the_checked_parts_and_keeps_the_schema(schema):
    base = build("Label {item}", schema=schema)
    item = with_texts(base, "Label this", "You label reviews.")
    assert item.params is base.params and item.settings is base.settings and item.schema is base.schema
    assert item.prompt == "Label this" and item.messages[-1] == {"role": "user", "content": "Label this"}
    assert item.messages[0]["content"] == f"You label reviews.\n\n{instructions(schema)}"
    assert base.messages[-1]["content"] == "Label {item}"  # the base is untouched


def test_an_empty_prompt_is_refused_before_anything_is_built():
    from dataoorts_magic.errors import ValidationError

    with pytest.raises(ValidationError, match="The prompt is empty"):
        build("   ")
