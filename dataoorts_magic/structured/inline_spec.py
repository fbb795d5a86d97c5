"""The inline ``--schema`` SPEC, compiled to JSON Schema: ``"sentiment: positive|negative, stars: int, note: str?"``.

A SPEC is fields separated by commas (or new lines), each ``name: type``. Types: ``str``,
``int``, ``float``, ``bool``, ``list[T]`` (T one of those or choices) and choices
``A|B|C`` (an enum); a ``?`` after the type (or the name) makes a field optional: it may be
left out or null. The object allows no other fields. Pure functions, no imports beyond the
standard library: a SPEC that does not parse fails here, with one line, before anything is sent.
"""

from __future__ import annotations

import re

from ..errors import SchemaError

SCALARS = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
ALIASES = {"string": "str", "text": "str", "integer": "int", "number": "float", "boolean": "bool"}
TYPES_HELP = "str, int, float, bool, list[str] or choices like a|b|c"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LIST = re.compile(r"list\s*\[(.*)\]\Z", re.IGNORECASE | re.DOTALL)


def split_fields(spec: str) -> list[str]:
    """The SPEC's fields: split at commas and new lines outside brackets; empty pieces dropped."""
    pieces, depth, current = [], 0, []
    for ch in spec:
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch in ",\n" and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(ch)
    pieces.append("".join(current))
    if depth != 0:
        raise SchemaError(f"The schema {spec.strip()!r} has an unclosed '[': write list[str].")
    return [p.strip() for p in pieces if p.strip()]


def _choices(name: str, text: str) -> dict:
    values = [v.strip().strip("\"'").strip() for v in text.split("|")]
    if any(not v for v in values):
        raise SchemaError(f"The schema's field {name!r} has an empty choice in {text!r}: write choices like a|b|c.")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise SchemaError(f"The schema's field {name!r} repeats the choice {repeated[0]!r}: list each choice once.")
    return {"type": "string", "enum": values}


def _scalar(name: str, text: str) -> dict:
    if "|" in text:
        return _choices(name, text)
    key = ALIASES.get(text.lower(), text.lower())
    if key not in SCALARS:
        shown = text or "(nothing)"
        raise SchemaError(f"The schema's field {name!r} has an unknown type {shown!r}: use {TYPES_HELP}.")
    return {"type": SCALARS[key]}


def field_schema(name: str, text: str) -> dict:
    """The JSON Schema of one field's type as typed (without the ``?``)."""
    text = text.strip()
    inner = _LIST.match(text)
    if inner:
        if inner.group(1).strip().lower().startswith("list"):
            raise SchemaError(f"The schema's field {name!r} is a list of lists: use list[str] (or another type).")
        return {"type": "array", "items": _scalar(name, inner.group(1).strip())}
    return _scalar(name, text)


def nullable(schema: dict) -> dict:
    """The same field, also allowing null (an optional field the model may leave empty)."""
    out = dict(schema)
    out["type"] = [schema["type"], "null"]
    if "enum" in schema:
        out["enum"] = [*schema["enum"], None]
    return out


def parse_spec(spec: str) -> dict:
    """The JSON Schema of an inline SPEC; raises ``SchemaError`` naming the field and the fix."""
    if not isinstance(spec, str) or not spec.strip():
        raise SchemaError('The schema is empty: give fields like "sentiment: positive|negative, stars: int".')
    properties: dict = {}
    required: list = []
    for piece in split_fields(spec):
        name, colon, kind = piece.partition(":")
        name = name.strip()
        optional = name.endswith("?") or kind.strip().endswith("?")
        name, kind = name.rstrip("?").strip(), kind.strip().rstrip("?")
        if not colon:
            example = f"{name or 'name'}: str"
            raise SchemaError(f"The schema's field {piece!r} has no type: write {example} (types: {TYPES_HELP}).")
        if not _NAME.match(name):
            raise SchemaError(f"The schema's field name {name!r} is not a name: use letters, digits and _, e.g. stars.")
        if name in properties:
            raise SchemaError(f"The schema names the field {name!r} twice: keep one.")
        schema = field_schema(name, kind)
        properties[name] = nullable(schema) if optional else schema
        if not optional:
            required.append(name)
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
