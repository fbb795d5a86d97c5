"""Validation of a request's ``data`` against the platform's published input schema.

The offline endpoint must accept exactly what the real one accepts, so ``INPUT_SCHEMA``
is a verbatim copy of ``shared/reference/workers-ai-llama-3.1-8b-instruct.input-schema.json``
(a test keeps the two equal) and ``validate`` is a small JSON Schema interpreter for the
keywords that schema uses: ``type``, ``properties``, ``required``, ``items``,
``maxLength``, ``minimum`` and ``maximum``. It follows JSON Schema semantics (draft 6 and
later): ``true``/``false`` are booleans and never numbers, and an ``integer`` is any number
with a zero fractional part, so ``3.0`` is an integer and ``1.5`` is not. Properties the
schema does not name are allowed (it does not forbid additional properties).
Standard library only.
"""

from __future__ import annotations

import json

INPUT_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "messages": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "role": {"type": "string"},
                    "content": {"type": "string", "maxLength": 131072},
                },
                "required": ["role", "content"],
            },
        },
        "stream": {"type": "boolean", "default": False},
        "max_tokens": {"type": "integer", "default": 256},
        "temperature": {"type": "number", "default": 0.6, "minimum": 0, "maximum": 5},
        "top_p": {"type": "number", "minimum": 0, "maximum": 2},
        "top_k": {"type": "integer", "minimum": 1, "maximum": 50},
        "seed": {"type": "integer", "minimum": 1, "maximum": 9999999999},
        "repetition_penalty": {"type": "number", "minimum": 0, "maximum": 2},
        "frequency_penalty": {"type": "number", "minimum": 0, "maximum": 2},
        "presence_penalty": {"type": "number", "minimum": 0, "maximum": 2},
        "functions": {"type": "array"},
        "tools": {"type": "array"},
        "image": {},
    },
    "required": ["messages"],
}


def json_type(value) -> str:
    """The JSON Schema type name of a parsed JSON value (``1.0`` counts as ``integer``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _has_type(value, expected: str) -> bool:
    actual = json_type(value)
    return actual == expected or (expected == "number" and actual == "integer")


def _show(value) -> str:
    return json.dumps(value)


def validate(instance, schema: dict = INPUT_SCHEMA, pointer: str = "") -> str | None:
    """The first way ``instance`` breaks ``schema``, as one platform-style sentence, or None.

    ``pointer`` is the JSON pointer of ``instance`` inside the request's ``data`` (the
    platform names fields that way: ``/temperature``, ``/messages/0/content``).
    """
    where = pointer or "/"
    expected = schema.get("type")
    if expected is not None and not _has_type(instance, expected):
        return f"Type mismatch of '{where}', '{json_type(instance)}' not in '{expected}'"
    if isinstance(instance, dict):
        for name in schema.get("required", ()):
            if name not in instance:
                return f"Missing required property '{pointer}/{name}'"
        for name, sub in schema.get("properties", {}).items():
            if name in instance:
                problem = validate(instance[name], sub, f"{pointer}/{name}")
                if problem:
                    return problem
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            problem = validate(item, schema["items"], f"{pointer}/{index}")
            if problem:
                return problem
    if isinstance(instance, str) and len(instance) > schema.get("maxLength", len(instance)):
        return f"String '{where}' is too long: {len(instance)} characters, more than maxLength {schema['maxLength']}"
    if json_type(instance) in ("integer", "number"):
        if "minimum" in schema and instance < schema["minimum"]:
            return f"Value of '{where}' is out of range: {_show(instance)} < minimum {schema['minimum']}"
        if "maximum" in schema and instance > schema["maximum"]:
            return f"Value of '{where}' is out of range: {_show(instance)} > maximum {schema['maximum']}"
    return None
