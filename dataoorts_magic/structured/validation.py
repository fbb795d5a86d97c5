"""Validating an answer's object against a JSON Schema in bounded time, with nothing fetched.

Why: a schema's ``pattern`` run by Python's ``re`` can backtrack for ever (``^(a+)+$`` on forty
a's and a "!" froze the kernel), and jsonschema would fetch a remote ``$ref``. So the validator
here runs ``pattern``, ``patternProperties`` and ``additionalProperties`` with RE2 (linear time:
google-re2), its registry refuses to retrieve anything, and :func:`fit_columns` refuses a value
that would not fit its ``to_frame()`` column (an "integer" of 1e308), so that item fails at
validation, where it can be asked again, and not later in pandas.
"""

from __future__ import annotations

import functools

INT64 = (-(2**63), 2**63 - 1)  # an int field's column is pandas' Int64


@functools.lru_cache(maxsize=256)
def compiled(pattern: str):
    """The RE2 program of a schema's pattern; raises ``re2.error`` for what RE2 cannot run (backreferences,
    lookaround). No log line: RE2 would print its parse errors on the kernel's stderr."""
    import re2

    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options)


def search(pattern: str, text: str) -> bool:
    return compiled(pattern).search(text) is not None


def _pattern(validator, pattern, instance, schema):
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, patterns, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for name, value in instance.items():
            if search(pattern, name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(validator, allowed, instance, schema):
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    known, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    extras = [k for k in instance if k not in known and not any(search(p, k) for p in patterns)]
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        verb = "was" if len(extras) == 1 else "were"
        names = ", ".join(map(repr, extras))
        yield ValidationError(f"Additional properties are not allowed ({names} {verb} unexpected)")


@functools.lru_cache(maxsize=8)
def _bounded(cls):
    """``cls`` (a jsonschema draft) with its regex keywords run by RE2."""
    import jsonschema

    keywords = {"pattern": _pattern, "patternProperties": _pattern_properties}
    if "additionalProperties" in cls.VALIDATORS:
        keywords["additionalProperties"] = _additional_properties
    return jsonschema.validators.extend(cls, keywords)


def _refuse(uri: str):
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)


def validator(schema: dict):
    """A validator of ``schema`` that runs patterns in linear time and fetches nothing."""
    import jsonschema
    from referencing import Registry

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return _bounded(cls)(schema, registry=Registry(retrieve=_refuse))


def _where(path) -> str:
    return "/".join(str(p) for p in path)


def json_schema_problem(obj: dict, schema: dict) -> str | None:
    """The first problem of ``obj`` against ``schema`` in one line that names the field, or None."""
    import jsonschema

    error = jsonschema.exceptions.best_match(validator(schema).iter_errors(obj))
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


def fit_columns(obj: dict, schema) -> dict:
    """``obj`` when each int field fits its Int64 column; else :class:`~.answers.Mismatch` naming the field."""
    from .answers import Mismatch

    for f in schema.fields:
        value = obj.get(f.name)
        is_int = f.kind == "int" and isinstance(value, int) and not isinstance(value, bool)
        if is_int and not INT64[0] <= value <= INT64[1]:
            shown = f"{value:.3g}" if abs(value) < 10**300 else f"a {len(str(abs(value)))}-digit number"
            raise Mismatch(f"field {f.name!r}: {shown} is too large for an integer (at most 9223372036854775807)")
    return obj
