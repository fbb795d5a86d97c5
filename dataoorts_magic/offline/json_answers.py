"""The offline endpoint's answer to a structured request: a made-up JSON object of the asked shape.

A request whose system prompt carries our schema instructions (a line ``JSON Schema of the
object: {...}``, written by ``structured.answers.instructions``) gets an object that matches that
schema: choices drawn from the allowed values, small numbers within any bounds, strings that
start with ``offline:`` and quote words of the item. It is drawn from a generator seeded with
the item (the first user message) and the schema, so the same item always gets the same
object and different items get different ones, at any temperature. A sentence before the
object and a code fence around it say that no model made it (and exercise the client's
tolerant parsing). Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import random
import re

SCHEMA_LINE = re.compile(r"^JSON Schema of the object: (\{.*\})[ \t]*$", re.MULTILINE)
LABEL = "offline:"  # every made-up string starts with it
MAX_DEPTH = 4  # nested objects and lists deeper than this are cut (a recursive schema must end)


def requested_schema(messages: list[dict]) -> dict | None:
    """The JSON Schema our instructions put in the system prompt, or None for an ordinary request."""
    system = "\n".join(m["content"] for m in messages if m.get("role") == "system")
    found = SCHEMA_LINE.findall(system)
    if not found:
        return None
    try:
        schema = json.loads(found[-1])
    except ValueError:
        return None
    return schema if isinstance(schema, dict) else None


def _follow(node, root: dict) -> dict:
    """A ``$ref`` to ``#/...`` replaced by its target; a non-null branch of ``anyOf``/``oneOf`` chosen."""
    for _ in range(MAX_DEPTH):
        if not isinstance(node, dict):
            return {}
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
            target = root
            for part in node["$ref"][2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            node = target
        elif isinstance(node.get("anyOf") or node.get("oneOf"), list):
            branches = node.get("anyOf") or node.get("oneOf")
            node = next((b for b in branches if isinstance(b, dict) and b.get("type") != "null"), {})
        else:
            return node
    return node if isinstance(node, dict) else {}


def _text(rng: random.Random, words: list[str], limit) -> str:
    picked = rng.sample(words, min(len(words), rng.randint(1, 3))) if words else ["echo"]
    text = f"{LABEL} {' '.join(picked)}"
    return text[:limit] if isinstance(limit, int) and limit > 0 else text


def _number(rng: random.Random, node: dict, whole: bool):
    step = 1 if whole else 0.01
    low = node["exclusiveMinimum"] + step if "exclusiveMinimum" in node else node.get("minimum", 1 if whole else 0)
    high = node["exclusiveMaximum"] - step if "exclusiveMaximum" in node else node.get("maximum")
    high = low + (4 if whole else 1) if high is None or high < low else high
    if whole:
        return rng.randint(int(low), int(high))
    return round(rng.uniform(low, high), 2)


def make_value(node, root: dict, rng: random.Random, words: list[str], depth: int = 0):
    """A value that matches ``node`` (the keywords our schemas and pydantic's use)."""
    node = _follow(node, root)
    choices = [v for v in node.get("enum", ()) if v is not None]
    if choices:
        return rng.choice(choices)
    if "const" in node:
        return node["const"]
    kind = node.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = node.get("properties", {}) if depth < MAX_DEPTH else {}
        return {name: make_value(sub, root, rng, words, depth + 1) for name, sub in props.items()}
    if kind == "array":
        count = 0 if depth >= MAX_DEPTH else max(node.get("minItems", 0), min(2, node.get("maxItems", 2)))
        return [make_value(node.get("items", {}), root, rng, words, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(rng, node, kind == "integer")
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _text(rng, words, node.get("maxLength"))


def schema_answer(schema: dict, messages: list[dict]) -> str:
    """The answer text: a labelling sentence, then the object in a ```json fence."""
    item = next((m["content"] for m in messages if m.get("role") == "user"), "")
    material = json.dumps([item, schema], sort_keys=True)
    rng = random.Random(int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big"))
    words = sorted({w.lower() for w in re.findall(r"[^\W\d_]{4,}", item)})
    value = make_value(schema, schema, rng, words)
    return (
        "Made up by the dataoorts-magic offline endpoint, not by a model (values drawn from the item's words):\n\n"
        f"```json\n{json.dumps(value, indent=2, ensure_ascii=False)}\n```\n"
    )
