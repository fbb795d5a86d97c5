"""Structured answers (``--schema``), the pure parts: the instructions, the check, the re-ask message.

The Dataoorts endpoint has no JSON mode (the platform's input schema has no
``response_format``), so it is done on our side: :func:`instructions` is the text the request
appends to the system prompt (visible in ``.messages``); :func:`check` reads the object out of
an answer (:func:`read_object`: fences and a sentence around it are tolerated) and validates it
(jsonschema, or pydantic for a model class), raising :class:`Mismatch` naming the field; and
:func:`reask_messages` is the second request when it does not match. The sending, asking again
once and adding both exchanges up is the session's (``pipeline/structured_reply.py``).
"""

from __future__ import annotations

import json

from ..errors import clip
from .schema import Schema

SCHEMA_LINE = "JSON Schema of the object: "  # the offline endpoint reads the schema from this line
REASK = "That answer does not match the requested format: {problem}. Reply again with only the corrected JSON object."
PROBLEM_CHARS = 300  # a validation problem quoted to the model and shown to the user


class Mismatch(ValueError):
    """Why an answer is not a valid object of the schema (one line that names the field)."""


WORDS = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string", "object": "an object"}
ITEMS = {"str": "strings", "int": "integers", "float": "numbers", "bool": "true/false values"}


def _kind_words(f) -> str:
    if f.kind == "enum":
        return "one of " + ", ".join(json.dumps(c) for c in f.choices)
    if f.kind == "list":
        return f"a list of {ITEMS.get(f.items, 'values')}"
    return WORDS.get(f.kind, "any JSON value")


def instructions(schema: Schema) -> str:
    """The text appended to the system prompt: the fields in words, then the JSON Schema itself."""
    lines = ["Answer with one JSON object and nothing else: no text before or after it, no code fence.", "Its fields:"]
    for f in schema.fields:
        optional = "" if f.required else " (optional: may be null)"
        note = f" ({f.description})" if f.description else ""
        lines.append(f"- {json.dumps(f.name)}: {_kind_words(f)}{optional}{note}")
    if schema.json.get("additionalProperties") is False:
        lines.append("No other fields.")
    lines.append(SCHEMA_LINE + json.dumps(schema.json, separators=(",", ":"), ensure_ascii=False))
    return "\n".join(lines)


def _embedded_object(text: str):
    """The first JSON object inside prose (``Here it is: {...} Hope this helps.``), or None."""
    decoder = json.JSONDecoder()
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def read_object(text: str) -> dict:
    """The JSON object of an answer: the whole text, a fenced block, or an object after a sentence."""
    from ..display.answer_parts import parse_json_answer

    try:
        value = parse_json_answer(text)
    except ValueError:
        value = _embedded_object(text)
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        raise Mismatch("the answer is a JSON array, not one object")
    raise Mismatch("the answer is empty" if not text.strip() else "the answer holds no JSON object")


def _where(path) -> str:
    return "/".join(str(p) for p in path)


def _jsonschema_problem(obj: dict, schema: dict) -> str | None:
    import jsonschema

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    error = jsonschema.exceptions.best_match(cls(schema).iter_errors(obj))
    if error is None:
        return None
    where = _where(error.absolute_path)
    prefix = f"{where}/" if where else ""
    if error.validator == "required":
        missing = [n for n in error.validator_value if n not in error.instance]
        return f"field {prefix + missing[0]!r} is missing"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        if extra:
            return f"field {prefix + str(extra[0])!r} is not in the schema"
    return f"field {where!r}: {error.message}" if where else error.message


def _pydantic_check(obj: dict, model: type) -> dict:
    try:
        return model.model_validate(obj).model_dump(mode="json")
    except ValueError as err:  # pydantic's ValidationError is a ValueError
        problems = err.errors() if callable(getattr(err, "errors", None)) else []
        if not problems:
            raise Mismatch(clip(err, PROBLEM_CHARS)) from None
        first = problems[0]
        where = _where(first.get("loc", ()))
        if first.get("type") == "missing":
            raise Mismatch(f"field {where!r} is missing") from None
        got = f" (got {json.dumps(first['input'], default=str)})" if "input" in first and where else ""
        raise Mismatch(f"field {where!r}: {first.get('msg', 'invalid')}{got}" if where else first["msg"]) from None


def check(text: str, schema: Schema) -> dict:
    """The answer's object, validated against ``schema``; raises :class:`Mismatch` naming the field."""
    obj = read_object(text)
    if schema.model is not None:
        return _pydantic_check(obj, schema.model)
    problem = _jsonschema_problem(obj, schema.json)
    if problem:
        raise Mismatch(clip(problem, PROBLEM_CHARS))
    ints = {f.name for f in schema.fields if f.kind == "int"}
    return {k: int(v) if k in ints and isinstance(v, float) else v for k, v in obj.items()}  # 3.0 is an integer


def reask_messages(messages, answer_text: str, problem: str) -> tuple:
    """The second request's messages: the first's, the answer it got, and the problem quoted."""
    return (
        *messages,
        {"role": "assistant", "content": answer_text},
        {"role": "user", "content": REASK.format(problem=problem)},
    )
