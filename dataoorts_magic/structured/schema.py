"""What ``--schema`` / ``schema=`` names, as one :class:`Schema`: its JSON Schema, its fields, its validator.

Three sources, one shape: an inline SPEC (``schema_spec``), a JSON Schema dict (checked
with ``jsonschema``) or a pydantic model class (its ``model_json_schema()``; answers are
then validated by pydantic). ``fields`` says, per top-level field, what kind of column it
makes (``BatchResult.to_frame``) and how to describe it to the model (``structured``).
jsonschema is imported only when a dict is checked, pydantic never (a class is recognised
by its methods), so ``%load_ext`` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import SchemaError
from .inline_spec import parse_spec

KINDS = {"integer": "int", "number": "float", "boolean": "bool", "string": "str", "array": "list", "object": "object"}


@dataclass(frozen=True)
class Field:
    """One top-level field: ``kind`` is int, float, bool, str, enum, list, object or any."""

    name: str
    kind: str
    required: bool = True
    choices: tuple = ()
    description: str = ""
    items: str = ""  # the kind of a list's items


@dataclass(frozen=True)
class Schema:
    """The JSON Schema an answer must match, its fields in order, and the pydantic class if one was given."""

    json: dict
    fields: tuple = field(default=())
    model: type | None = None
    name: str = "inline"

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


def resolve_ref(node: dict, root: dict) -> dict:
    """``{"$ref": "#/$defs/X"}`` -> the definition (pydantic puts enums and nested models there)."""
    ref = node.get("$ref") if isinstance(node, dict) else None
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return node if isinstance(node, dict) else {}
    target = root
    for part in ref[2:].split("/"):
        target = target.get(part, {}) if isinstance(target, dict) else {}
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _without_null(node: dict, root: dict) -> tuple[dict, bool]:
    """The field's schema with a null alternative taken out (``anyOf: [X, null]``, ``type: [X, "null"]``)."""
    node = resolve_ref(node, root)
    options = node.get("anyOf") or node.get("oneOf")
    if isinstance(options, list):
        rest = [resolve_ref(o, root) for o in options if resolve_ref(o, root).get("type") != "null"]
        if len(rest) == 1:
            extra = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
            return {**rest[0], **extra}, len(rest) < len(options)
    kind = node.get("type")
    if isinstance(kind, list) and "null" in kind:
        others = [k for k in kind if k != "null"]
        return {**node, "type": others[0] if len(others) == 1 else others}, True
    return node, False


def describe(node: dict, root: dict) -> tuple[str, tuple, str]:
    """(kind, choices, item kind) of one property's schema."""
    node, _ = _without_null(node, root)
    choices = tuple(v for v in node.get("enum", ()) if v is not None)
    if choices and all(isinstance(v, str) for v in choices):
        return "enum", choices, ""
    if "const" in node and isinstance(node["const"], str):
        return "enum", (node["const"],), ""
    kind = KINDS.get(node.get("type") if isinstance(node.get("type"), str) else "", "any")
    items = describe(node.get("items") or {}, root)[0] if kind == "list" else ""
    return kind, (), items


def fields_of(json_schema: dict) -> tuple[Field, ...]:
    required = set(json_schema.get("required") or ())
    out = []
    for name, node in (json_schema.get("properties") or {}).items():
        kind, choices, items = describe(node, json_schema)
        plain, nullable = _without_null(node if isinstance(node, dict) else {}, json_schema)
        text = plain.get("description") or ""  # not pydantic's titles: they only repeat the name
        out.append(Field(name, kind, name in required and not nullable, choices, str(text), items))
    return tuple(out)


def check_json_schema(value: dict, name: str) -> dict:
    """A user's JSON Schema dict, checked: a valid schema that describes one object."""
    import jsonschema

    cls = jsonschema.validators.validator_for(value, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(value)
    except jsonschema.SchemaError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "the top"
        raise SchemaError(f"{name} is not a valid JSON Schema ({err.message} at {where}): fix the dict.") from None
    if value.get("type") != "object" or not isinstance(value.get("properties"), dict) or not value["properties"]:
        raise SchemaError(
            f'{name} must describe one JSON object: give it "type": "object" and "properties" with the fields.'
        )
    return value


def is_pydantic_model(value) -> bool:
    return (
        isinstance(value, type)
        and callable(getattr(value, "model_json_schema", None))
        and hasattr(value, "model_validate")
    )


def from_value(value, name: str = "schema") -> Schema:
    """A Schema from an inline SPEC, a JSON Schema dict, a pydantic model class or a Schema."""
    if isinstance(value, Schema):
        return value
    if isinstance(value, str):
        json_schema = parse_spec(value)
        return Schema(json_schema, fields_of(json_schema))
    if isinstance(value, dict):
        json_schema = check_json_schema(value, name)
        return Schema(json_schema, fields_of(json_schema), name=name)
    if is_pydantic_model(value):
        json_schema = value.model_json_schema()
        return Schema(json_schema, fields_of(json_schema), model=value, name=value.__name__)
    raise SchemaError(
        f'{name} is of type {type(value).__name__}: give an inline spec like "stars: int, topic: str", '
        "a JSON Schema dict or a pydantic model class."
    )


def resolve(spec: str, namespace) -> Schema:
    """``--schema SPEC``: a variable's name (a dict, a pydantic class, or a SPEC string) or an inline SPEC."""
    text = spec.strip()
    if text.isidentifier() and ":" not in text:
        if text not in namespace:
            raise SchemaError(
                f"--schema {text}: there is no variable {text}; define it as a JSON Schema dict or a pydantic "
                f'model class, or write the fields inline: --schema "{text}: str".'
            )
        return from_value(namespace[text], text)
    return from_value(text)
