"""Structured answers (``--schema``): instructions in, one JSON object out, validated, asked again once.

The Dataoorts endpoint has no JSON mode (the platform's input schema has no
``response_format``), so it is done on our side: :func:`apply` appends the instructions to the
system prompt of a checked request (visible in ``.messages``); :func:`send` sends it, reads
the object out of the answer (:func:`read_object`: fences and a sentence around it are
tolerated), validates it (:func:`check`: jsonschema, or pydantic for a model class) and, when
it does not match, asks once more with the problem quoted. Both exchanges go through the
session's ``send`` (budget, rate limit, cache, log), and the answer's usage and cost add both
up. Still wrong: :class:`~dataoorts_magic.errors.InvalidAnswerError` naming the field, with the
last answer attached, so nothing paid for is lost.
"""

from __future__ import annotations

import dataclasses
import json

from ..errors import InvalidAnswerError, clip
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


def apply(req: dict, schema: Schema) -> dict:
    """Turn a checked request into a structured one (in place): instructions appended, no stream."""
    text = instructions(schema)
    messages = [dict(m) for m in req["messages"]]
    if messages and messages[0]["role"] == "system":
        messages[0]["content"] = f"{messages[0]['content']}\n\n{text}"
    else:
        messages.insert(0, {"role": "system", "content": text})
    req.update(messages=messages, schema=schema)
    if req["settings"]["stream"]:  # copied only then: --over items share one settings dict
        req["settings"] = {**req["settings"], "stream": False}
    return req


def _embedded_object(text: str):
    """The first JSON object inside prose (``Here it is: {...} Hope this helps.``), or None (linear time)."""
    from ..display.json_text import first_value

    return first_value(text, (i for i, ch in enumerate(text) if ch == "{"), lambda value, end: isinstance(value, dict))


def read_object(text: str) -> dict:
    """The JSON object of an answer: the whole text, a fenced block, or an object after a sentence."""
    from ..display.answer_parts import NotJSON, parse_json_answer

    why = ""
    try:
        value = parse_json_answer(text)
    except NotJSON as err:
        value = _embedded_object(text)
        why = err.reason
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        raise Mismatch("the answer is a JSON array, not one object")
    if not text.strip():
        raise Mismatch("the answer is empty")
    raise Mismatch(f"the answer holds no JSON object ({why})" if why else "the answer holds no JSON object")


def _where(path) -> str:
    return "/".join(str(p) for p in path)


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
    from .validation import fit_columns, json_schema_problem

    obj = read_object(text)
    try:
        if schema.model is not None:
            return fit_columns(_pydantic_check(obj, schema.model), schema)
        problem = json_schema_problem(obj, schema.json)
    except RecursionError:
        raise Mismatch("the answer is nested too deeply") from None
    if problem:
        raise Mismatch(clip(problem, PROBLEM_CHARS))
    ints = {f.name for f in schema.fields if f.kind == "int"}
    obj = {k: int(v) if k in ints and isinstance(v, float) else v for k, v in obj.items()}  # 3.0 is an integer
    return fit_columns(obj, schema)


def reask_request(req: dict, answer, problem: str) -> dict:
    """The second request: the first, the answer it got, and the problem quoted."""
    messages = [
        *req["messages"],
        {"role": "assistant", "content": answer.text},
        {"role": "user", "content": REASK.format(problem=problem)},
    ]
    return {**req, "messages": messages}


def _both(first, second, problem: str):
    """The second answer, carrying the usage, cost and time of both exchanges."""
    usage = None
    if first.usage is not None and second.usage is not None:
        pairs = zip(dataclasses.astuple(first.usage), dataclasses.astuple(second.usage), strict=True)
        usage = type(first.usage)(*(a + b for a, b in pairs))
    cost = None if first.cost is None or second.cost is None else first.cost + second.cost
    return dataclasses.replace(
        second,
        usage=usage,
        cost=cost,
        elapsed=first.elapsed + second.elapsed,
        cached=first.cached and second.cached,
        notes=[*second.notes, f"re-asked once: {problem}"],
    )


def send(session, req: dict, on_text=None, *, control=None):
    """Send a request; a structured one (``apply``) is parsed, validated and asked again once if invalid.

    ``control`` is what the batch runner hands each request (rate limit, cancel): both exchanges use it."""
    schema = req.get("schema")
    if schema is None:
        return session.send(req, on_text=on_text, control=control)
    alone = {**req, "chat": None}  # a conversation gets only the valid answer, once, below
    response = session.send(alone, control=control)
    try:
        response.data = check(response.text, schema)
    except Mismatch as first_problem:
        second = session.send(reask_request(alone, response, str(first_problem)), control=control)
        response = _both(response, second, str(first_problem))
        try:
            response.data = check(second.text, schema)
        except Mismatch as problem:
            cut = " (it used all max_tokens: raise -n/--max-tokens)" if second.truncated else ""
            err = InvalidAnswerError(
                f"The answer does not match the schema, also when asked again: {problem}{cut}. "
                "Make the prompt or the schema simpler, or try another model."
            )
            err.response = response
            raise err from None
    if req["chat"] is not None:
        session.conversations.get(req["chat"]).add(req["prompt"], response, req["system"], req["dropped"])
    return response


def sender(session):
    """``send`` bound to ``session``: what the batch runner calls for each request."""

    def send_one(req, control=None):
        return send(session, req, control=control)

    return send_one


def valid_resumed(answer, req) -> bool:
    """Whether a logged answer may stand for ``req`` in a resumed batch: always without a schema;
    with one, only if it still matches (then ``answer.data`` holds the dict), else it is asked again."""
    schema = req.get("schema") if isinstance(req, dict) else None
    if schema is None:
        return True
    try:
        answer.data = check(answer.text, schema)
    except Mismatch:
        return False
    return True
