"""A user's schema checked for what would hang, recurse or fetch, before anything is sent.

Why: jsonschema only checks that a schema is well formed. A dict that contains itself, a
``$ref`` to itself or a ``$defs`` cycle recursed until RecursionError after a paid request, a
remote ``$ref`` would be fetched, and a pattern RE2 cannot run would only fail on the answer.
Each of these is one :class:`~dataoorts_magic.errors.SchemaError` line here, in linear time.
A schema that recurses through the answer (a tree: ``items`` referring to its own node) is fine:
validation descends the answer, which is finite.
"""

from __future__ import annotations

import math
from urllib.parse import unquote

from ..errors import SchemaError, clip

MAX_DEPTH = 64  # nesting of the schema itself
MAX_NODES = 50_000  # values in the whole schema
MAX_CHARS = 100_000  # its JSON, which goes into every prompt
IN_PLACE = ("allOf", "anyOf", "oneOf")  # lists of subschemas applied to the same value
IN_PLACE_ONE = ("not", "if", "then", "else")


def plain_json(value, name: str):
    """A copy of ``value`` made of JSON types only (lists for tuples); cycles, depth and size refused."""
    nodes = 0

    def copy(v, depth, path):
        nonlocal nodes
        nodes += 1
        if nodes > MAX_NODES:
            raise SchemaError(f"{name} has more than {MAX_NODES:,} values: make the schema smaller.")
        if depth > MAX_DEPTH:
            raise SchemaError(f"{name} is nested more than {MAX_DEPTH} levels deep: flatten the schema.")
        if isinstance(v, dict | list | tuple):
            if id(v) in path:
                raise SchemaError(f"{name} contains itself (a dict or list inside itself): build it without a cycle.")
            inner = path | {id(v)}
            if isinstance(v, dict):
                bad = next((k for k in v if not isinstance(k, str)), None)
                if bad is not None:
                    raise SchemaError(f"{name} has the key {bad!r}, which is not a string: JSON keys are strings.")
                return {k: copy(x, depth + 1, inner) for k, x in v.items()}
            return [copy(x, depth + 1, inner) for x in v]
        if isinstance(v, float) and not math.isfinite(v):
            raise SchemaError(f"{name} holds {v}, which is not a JSON number: use a finite number.")
        if v is None or isinstance(v, str | int | float | bool):
            return v
        kind = type(v).__name__
        raise SchemaError(f"{name} holds a {kind}, which is not JSON: use dicts, lists, strings and numbers.")

    return copy(value, 0, frozenset())


def _subschemas(node: dict):
    """(keyword, subschema) pairs of one schema node, every kind."""
    for key, value in node.items():
        if isinstance(value, dict) and key not in ("enum", "const", "default", "examples"):
            if key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"):
                yield from ((key, v) for v in value.values() if isinstance(v, dict))
            else:
                yield key, value
        elif isinstance(value, list) and key in (*IN_PLACE, "prefixItems", "items"):
            yield from ((key, v) for v in value if isinstance(v, dict))


def _target(ref: str, root: dict, anchors: dict, name: str):
    if not ref.startswith("#"):
        raise SchemaError(
            f"{name} refers to a remote schema ($ref {clip(ref, 80)!r}), and nothing is fetched: "
            "copy it under $defs and refer to it as #/$defs/Name."
        )
    fragment = unquote(ref[1:])
    if fragment and not fragment.startswith("/"):
        if fragment in anchors:
            return anchors[fragment]
    else:
        node = root
        for part in fragment.split("/")[1:] if fragment else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                node = None
                break
        if isinstance(node, dict | bool):
            return node
    raise SchemaError(f"{name} has a $ref {clip(ref, 80)!r} that points at nothing in the schema: fix the $ref.")


def check_references(root: dict, name: str) -> None:
    """Every ``$ref`` local and found, and no cycle of ``$ref``/allOf/anyOf/oneOf/not/if that never
    descends into the answer (it would recurse for ever on any answer)."""
    from .validation import compiled

    nodes, stack = [], [root]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(sub for _, sub in _subschemas(node))
    anchors = {n["$anchor"]: n for n in nodes if isinstance(n.get("$anchor"), str)}
    same_value = {}
    for node in nodes:
        edges = []
        for key in ("$ref", "$dynamicRef"):
            if isinstance(node.get(key), str):
                edges.append(_target(node[key], root, anchors, name))
        edges += [v for k in IN_PLACE for v in node.get(k, []) if isinstance(node.get(k), list) and isinstance(v, dict)]
        edges += [node[k] for k in IN_PLACE_ONE if isinstance(node.get(k), dict)]
        same_value[id(node)] = [e for e in edges if isinstance(e, dict)]
        patterns = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        patterns += list(node.get("patternProperties", {})) if isinstance(node.get("patternProperties"), dict) else []
        for pattern in patterns:
            try:
                compiled(pattern)
            except Exception as err:
                why = err.args[0].decode() if err.args and isinstance(err.args[0], bytes) else str(err)
                raise SchemaError(
                    f"{name} has the pattern {clip(pattern, 60)!r}, which cannot be checked in bounded time ({why}): "
                    "write it without backreferences and lookarounds."
                ) from None
    _no_cycle(root, nodes, same_value, name)


def _no_cycle(root, nodes, same_value, name) -> None:
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for start in nodes:
        if state.get(id(start)):
            continue
        path = [(start, iter(same_value.get(id(start), ())))]
        state[id(start)] = 1
        while path:
            node, edges = path[-1]
            nxt = next(edges, None)
            if nxt is None:
                state[id(node)] = 2
                path.pop()
            elif state.get(id(nxt)) == 1:
                raise SchemaError(
                    f"{name} has a $ref that leads back to itself without descending into a field "
                    "(it would be checked for ever): point the $ref at another definition."
                )
            elif not state.get(id(nxt)):
                state[id(nxt)] = 1
                path.append((nxt, iter(same_value.get(id(nxt), ()))))


def guard(value, name: str) -> dict:
    """The JSON Schema ``value`` as given, refused in one line if it would hang, recurse or fetch
    (the checks run on a plain copy)."""
    import json

    schema = plain_json(value, name)
    if isinstance(schema, dict):
        size = len(json.dumps(schema, ensure_ascii=False))
        if size > MAX_CHARS:
            raise SchemaError(
                f"{name} is {size:,} characters as JSON, which goes into every prompt: make it at most {MAX_CHARS:,}."
            )
        check_references(schema, name)
    return value
