"""The offline endpoint's answers to --schema requests: valid objects of the asked shape, varied by the item,
labelled as made up, and a scripted answer for showing the re-ask; over real loopback HTTP."""

from __future__ import annotations

import itertools
from typing import Literal

import pydantic
import pytest
import requests

from dataoorts_magic.offline.server import OfflineServer
from dataoorts_magic.structured.answers import Mismatch, check, instructions
from dataoorts_magic.structured.schema import from_value

KEY = "json-key"
MODEL = "meta/llama-3.1-8b-instruct"
ITEMS = [
    f"Review {i}: the {w} was {a} and the {p} arrived {t}."
    for i, (w, a, p, t) in enumerate(
        itertools.product(
            ("kettle", "toaster", "lamp"), ("great", "awful", "fine"), ("box", "parcel"), ("late", "early")
        )
    )
]


class Address(pydantic.BaseModel):
    city: str
    floor: int | None = None


class Order(pydantic.BaseModel):
    status: Literal["open", "shipped", "lost"]
    items: list[str]
    address: Address
    rush: bool = False


CHOICES = {"positive", "negative", "mixed", "calm", "angry", "open", "shipped", "lost"}
SCHEMAS = {
    "inline": "sentiment: positive|negative|mixed, stars: int, score: float, ok: bool, tags: list[str], note: str?",
    "dict": {
        "type": "object",
        "properties": {
            "stars": {"type": "integer", "minimum": 1, "maximum": 5},
            "share": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "quotes": {"type": "array", "items": {"type": "string", "maxLength": 12}, "minItems": 3},
            "tone": {"enum": ["calm", "angry"]},
        },
        "required": ["stars", "share", "quotes", "tone"],
        "additionalProperties": False,
    },
    "pydantic": Order,
}


@pytest.fixture(scope="module")
def server():
    with OfflineServer(api_key=KEY) as s:
        yield s


def post(server, messages, **data):
    body = {"model": MODEL, "data": {"messages": messages, "max_tokens": 512, **data}}
    resp = requests.post(server.url, json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()["result"]["response"]


def structured(schema, item, system="You label reviews."):
    return [{"role": "system", "content": f"{system}\n\n{instructions(schema)}"}, {"role": "user", "content": item}]


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_answer_matches_the_asked_shape_the_first_time(server, name):
    schema = from_value(SCHEMAS[name], name)
    objects = []
    for item in ITEMS:
        text = post(server, structured(schema, item), temperature=1.5)
        assert "not by a model" in text
        try:
            objects.append(check(text, schema))
        except Mismatch as problem:  # the re-ask rate of the offline endpoint is 0: no answer may need one
            pytest.fail(f"{name}: {problem}\n{text}")
    free = [s for o in objects for s in strings(o) if s not in CHOICES]
    assert free and all(s.startswith("offline:") for s in free)  # every made-up text says where it came from
    assert len({repr(o) for o in objects}) > len(ITEMS) // 2  # varied by the item


def test_the_same_item_gets_the_same_object_and_the_choices_vary(server):
    schema = from_value(SCHEMAS["inline"])
    first = [post(server, structured(schema, item)) for item in ITEMS]
    again = [post(server, structured(schema, item), temperature=2) for item in ITEMS]
    assert first == again
    assert {check(text, schema)["sentiment"] for text in first} == {"positive", "negative", "mixed"}


def test_a_request_without_the_instructions_still_gets_the_markdown_echo(server):
    text = post(server, [{"role": "user", "content": "Rate this: stars: int"}])
    assert "**You asked:**" in text and "```json" not in text


def test_a_scripted_answer_replaces_one_answer_and_the_request_is_still_checked(server):
    schema = from_value(SCHEMAS["inline"])
    server.enqueue({"answer": '{"sentiment": "delighted"}'})
    assert post(server, structured(schema, ITEMS[0])) == '{"sentiment": "delighted"}'
    assert "not by a model" in post(server, structured(schema, ITEMS[0]))  # only the next one
    server.enqueue({"answer": "never shown"})
    body = {"model": MODEL, "data": {"messages": structured(schema, ITEMS[0]), "temperature": 9}}
    resp = requests.post(server.url, json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    assert resp.status_code == 400 and "never shown" not in resp.text
