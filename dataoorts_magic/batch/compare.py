"""``%%llama --compare PARAM=V1,V2,...``: the same prompt once per value, answers side by side.

:func:`parse` reads the option (values checked with the parameter's type), :func:`prepare`
builds one checked request per value (ranges checked for the model, nothing sent), :func:`run`
sends them through the session concurrently and returns a :class:`Comparison`, a display
with one column per value headed ``PARAM=value``. ``--out`` gets the plain list of answers.

The display's metadata records how each column's answer was made, as a list in column order
(a value may be given twice, e.g. ``--compare seed=42,42,7``, so headers cannot be keys)::

    {"dataoorts_magic": {"compare": [
        {"column": "seed=42", "model": ..., "params": ..., "usage": ..., "cost": ..., "elapsed": ...,
         "prompt_sha256": ..., "cached": ..., "offline": ...},   # an answer's provenance
        {"column": "seed=7", "error": "one-line message"},       # a column that failed
    ]}}
"""

from __future__ import annotations

from dataclasses import dataclass

from ..display.response import LlamaResponse
from ..display.styles import RULE, error_html, text_html
from ..errors import ModelNotFoundError, PermissionDeniedError, ValidationError
from ..params import PARAMS, coerce
from .result import BatchResult
from .runner import STOP_ON, Outcome, failed, gather

COMPARABLE = ("model", *PARAMS)


def parse(spec: str) -> tuple[str, list[str], list]:
    """``"temperature=0,0.7"`` -> ``("temperature", ["0", "0.7"], [0.0, 0.7])`` (name, as typed, typed)."""
    name, eq, text = spec.partition("=")
    name = name.strip().lstrip("-").replace("-", "_")
    if not eq or not name:
        raise ValidationError(f"--compare {spec!r} is not PARAM=V1,V2,...: e.g. --compare temperature=0,0.7,1.5.")
    if name not in COMPARABLE:
        raise ValidationError(f"--compare {name}: not a parameter; compare one of {', '.join(COMPARABLE)}.")
    typed = [value.strip() for value in text.split(",")]
    if not text.strip() or any(not value for value in typed):
        raise ValidationError(
            f"--compare {name}= has an empty value: give values separated by commas, "
            f"e.g. --compare {name}={'a,b' if name == 'model' else '0,1'}."
        )
    values = typed if name == "model" else [coerce(name, value) for value in typed]
    return name, typed, values


@dataclass
class Plan:
    name: str
    headers: list[str]
    requests: list


def prepare(session, prompt: str, flags: dict, spec: str, schema=None) -> Plan:
    """One checked request per value (each validated against its model's ranges); nothing is sent.

    With ``schema`` each asks for one object of it (``--schema``)."""
    name, typed, values = parse(spec)
    if flags.get(name) is not None:
        raise ValidationError(f"{name} is given both as a flag and in --compare: keep only --compare {name}=...")
    requests = [session.request(prompt, {**flags, name: value, "stream": False}, schema=schema) for value in values]
    return Plan(name, [f"{name}={shown}" for shown in typed], requests)


def result_for(plan: Plan) -> BatchResult:
    """What ``-o`` gets for a background comparison: its answers (pending), labelled by the headers."""
    return BatchResult([None] * len(plan.requests), plan.headers, plan.headers)


def run(
    session, plan: Plan, concurrency: int, progress=None, *, result: BatchResult | None = None
) -> tuple[Comparison, Outcome]:
    """Send the plan's requests concurrently; a model that fails on its own does not stop the others.

    ``result`` (from :func:`result_for`, a background run) is filled in as answers arrive."""
    stop_on = STOP_ON
    if plan.name == "model":
        stop_on = tuple(k for k in STOP_ON if k not in (ModelNotFoundError, PermissionDeniedError))
    into, cancel = (result.results, result._cancel) if result is not None else (None, None)
    outcome = gather(session.send, plan.requests, concurrency, progress, stop_on=stop_on, into=into, cancel=cancel)
    if result is not None:
        result.record_run(outcome)
    return Comparison(plan.headers, outcome.results), outcome


def _bundle(response: LlamaResponse) -> tuple[dict, dict]:
    try:
        return response._repr_mimebundle_()
    except ValueError:  # -f json and this answer is not JSON: show it as text
        response.format = "text"
        return response._repr_mimebundle_()


MAX_SIDE_BY_SIDE = 3  # more columns than this wrap, two to a row


def grid_style(count: int) -> str:
    """Columns that share the output's width and never scroll it sideways: up to three side by side,
    more two to a row. ``minmax(0, 1fr)`` lets a column shrink below its widest line (a long code
    line scrolls inside its own column instead)."""
    per_row = count if count <= MAX_SIDE_BY_SIDE else 2
    return f"display:grid;grid-template-columns:repeat({max(per_row, 1)},minmax(0,1fr));gap:1.2em"


class Comparison:
    """Columns headed ``PARAM=value``, each the rendered answer with its usage, or its error."""

    def __init__(self, headers: list[str], results: list):
        self.headers = list(headers)
        self.results = list(results)

    def _rendered(self) -> list:
        """Each column's bundle (None for a failed one), rendered once for every part of a display."""
        return [None if failed(r) else _bundle(r)[0] for r in self.results]

    def __repr__(self) -> str:
        return self._plain(self._rendered())

    def _plain(self, rendered: list) -> str:
        parts = []
        for header, result, bundle in zip(self.headers, self.results, rendered, strict=True):
            body = f"⚠ {result}" if bundle is None else bundle["text/plain"]
            parts.append(f"── {header} ──\n{body}")
        return "\n\n".join(parts)

    def _repr_mimebundle_(self, include=None, exclude=None):
        rendered = self._rendered()
        columns = []
        for header, result, bundle in zip(self.headers, self.results, rendered, strict=True):
            body = error_html(str(result)) if bundle is None else bundle["text/html"]  # sanitized, with footer
            columns.append(
                "<div style='min-width:0;overflow-x:auto'>"
                f"<div style='font-weight:bold;{RULE};margin-bottom:.4em'>"
                f"{text_html(header)}</div>{body}</div>"
            )
        data = {
            "text/html": f"<div class='dataoorts-compare' style='{grid_style(len(columns))}'>{''.join(columns)}</div>",
            "text/plain": self._plain(rendered),
        }
        return data, {"dataoorts_magic": {"compare": self.provenance()}}

    def provenance(self) -> list[dict]:
        """One entry per column, in column order: its header and its answer's provenance, or its error."""
        return [
            {"column": header, "error": str(r)} if failed(r) else {"column": header, **r.metadata()["dataoorts_magic"]}
            for header, r in zip(self.headers, self.results, strict=True)
        ]
