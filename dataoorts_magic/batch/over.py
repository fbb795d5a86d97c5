"""``%%llama --over VAR``: read VAR as items and build one checked request per item, then send them.

:func:`items_of` reads VAR (a list, tuple or any iterable; a pandas Series, index kept; a
DataFrame, one item per row with its columns as fields); :func:`prepare` builds and checks
every request before anything is sent; :func:`run` sends them through the session (see
:mod:`.runner`) and returns the :class:`~.result.BatchResult`, a sequence of ``LlamaResponse``
(or the error of an item) in input order. pandas is imported only when VAR is a pandas object.

Preparing stays linear and light for 100,000 items: VAR is read once (a generator that raises
is one line naming the item), a DataFrame's rows are positions into its columns
(:mod:`.frame_rows`), and the requests share one checked set of settings and parameters
(``request.with_texts``), so each costs only its own texts.
"""

from __future__ import annotations

import re
from collections import ChainMap
from dataclasses import dataclass, field
from typing import NamedTuple

from ..errors import ValidationError
from ..pipeline.request import with_texts
from ..pipeline.settings import MAX_CONCURRENCY
from ..pipeline.structured_reply import valid_resumed
from ..prompting.frame_markdown import pandas_kind
from ..prompting.interpolate import fields, interpolate
from ..store import resume
from .frame_rows import FrameRows
from .result import BatchResult
from .runner import gather

_ROOT = re.compile(r"[^\W\d]\w*")
_NO_COLUMNS: dict = {}  # the fields of an item that is not a DataFrame row (shared: never written)


@dataclass
class Batch:
    """VAR read as items: ``labels`` (positions, or the pandas index), ``items`` (what ``{item}``
    gives), ``columns`` (a DataFrame's fields per row, else empty dicts), ``source`` (VAR if pandas)."""

    name: str
    labels: list
    items: list
    columns: list
    kind: str = "iterable"
    source: object = None
    requests: list = field(default_factory=list)
    schema: object = None  # a structured.schema.Schema: every request asks for that object


class Voice(NamedTuple):
    """How the caller named the batch, so its errors speak the caller's words (a flag or an argument)."""

    batch: str  # what opens the line: "--over titles" / "ask_each()"
    value: str  # the value in the sentence: "titles" / "items"
    a_list: str  # how to give a list instead: "titles = [...]" / "items=['first', 'second']"
    jobs: str  # an out-of-range concurrency, "{}" the value: "-j {}" / "concurrency={}"
    again: str  # what to do once fixed: "run the cell again" / "call ask_each again"


def magic_voice(name: str) -> Voice:
    """The words of ``%%llama --over NAME -j N``."""
    return Voice(f"--over {name}", name, f"{name} = [...]", "-j {}", "run the cell again")


PYTHON_VOICE = Voice("ask_each()", "items", "items=['first', 'second']", "concurrency={!r}", "call ask_each again")


def check_concurrency(value, voice: Voice | None = None) -> int:
    if not 1 <= value <= MAX_CONCURRENCY:
        said = (voice or magic_voice("VAR")).jobs.format(value)
        raise ValidationError(f"{said} is out of range: use 1 to {MAX_CONCURRENCY} requests in flight.")
    return value


def items_of(value, name: str, voice: Voice | None = None) -> Batch:
    """Read VAR as a batch, or explain why it is not one (in ``voice``'s words, the magic's by default)."""
    v = voice or magic_voice(name)
    if isinstance(value, (str, bytes, bytearray)):
        raise ValidationError(
            f"{v.batch}: {v.value} is a {type(value).__name__}, not a batch (a string would "
            f"be split into characters). Put the texts in a list: {v.a_list}."
        )
    kind = pandas_kind(value)
    if kind == "DataFrame":
        rows = FrameRows(value)
        return Batch(name, rows.labels, rows, rows, "DataFrame", value)  # a row is its item and its fields
    if kind == "Series":
        return Batch(name, list(value.index), list(value), [_NO_COLUMNS] * len(value), "Series", value)
    items = _read_all(value, v)
    return Batch(name, list(range(len(items))), items, [_NO_COLUMNS] * len(items))


def _read_all(value, v: Voice) -> list:
    """Every item of an iterable; one line naming the item when iterating it raises."""
    try:
        iterator = iter(value)
    except TypeError:
        raise ValidationError(
            f"{v.batch}: {v.value} is a {type(value).__name__}, which cannot be iterated: "
            "give a list, tuple, pandas Series or DataFrame."
        ) from None
    items: list = []
    try:
        items.extend(iterator)  # at C speed; on an exception, what came before is already in items
    except Exception as exc:
        raise ValidationError(
            f"{v.batch}: reading item {len(items)} of {v.value} raised {type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:120]}; nothing was sent. "
            f"Fix it (or build a list first) and {v.again}."
        ) from None
    return items


def _uses(text: str | None, names: set) -> bool:
    return any(_ROOT.match(f).group() in names for f in fields(text or "") if _ROOT.match(f))


def prepare(
    session, prompt: str, flags: dict, name: str, namespace, raw: bool = False, schema=None, voice: Voice | None = None
) -> Batch:
    """Read ``namespace[name]`` and build one checked request per item; nothing is sent.

    Per item the prompt and system text are filled from ``{item}``, the row's columns and
    then the user's variables. Parameters are checked once for all (an error stops the batch
    here); an item whose own prompt is unusable (e.g. empty) keeps the error as its outcome.
    With ``schema`` every request asks for one object of it (``--schema``).
    Errors name the batch in ``voice``'s words (the magic's ``--over NAME`` by default).
    """
    v = voice or magic_voice(name)
    if raw:
        raise ValidationError(
            "--raw turns off {item}, which --over needs: drop --raw (write {{ and }} for literal braces)."
        )
    if name not in namespace:
        raise ValidationError(
            f"--over {name}: there is no variable {name}; define it first, e.g. {name} = ['first', 'second']."
        )
    batch = items_of(namespace[name], name, v)
    columns = batch.items.columns if batch.kind == "DataFrame" else ()
    names = {"item", *(c for c in columns if isinstance(c, str) and c.isidentifier())}
    system = flags.get("system")
    if not (_uses(prompt, names) or _uses(system, names)):
        hint = f" or a column such as {{{sorted(names - {'item'})[0]}}}" if len(names) > 1 else ""
        raise ValidationError(
            f"The prompt does not use {{item}}{hint}, so every request of {v.batch} "
            "would be the same: put {item} where each value should go."
        )
    # Settings and parameters are checked once, for all items (an error stops the batch here).
    base = session.request(prompt, {**flags, "stream": False}, schema=schema)
    for item, columns in zip(batch.items, batch.columns, strict=True):
        scope = ChainMap({"item": item}, columns, namespace)
        try:
            batch.requests.append(
                with_texts(
                    base,
                    interpolate(prompt, scope),
                    interpolate(system, scope) if system is not None else base.settings["system"],
                )
            )
        except ValidationError as err:
            batch.requests.append(err)
    if batch.requests and all(isinstance(r, ValidationError) for r in batch.requests):
        raise batch.requests[0]
    batch.schema = schema
    return batch


def result_for(batch: Batch) -> BatchResult:
    """The result of ``batch`` before anything is sent (every item pending), for a background run."""
    return BatchResult(
        [None] * len(batch.items), batch.labels, batch.items, kind=batch.kind, source=batch.source, schema=batch.schema
    )


def run(
    session, batch: Batch, concurrency: int, progress=None, *, fresh: bool = False, result: BatchResult | None = None
) -> BatchResult:
    """Send the prepared batch ``concurrency`` at a time; the result holds every item's outcome.

    Unless ``fresh`` (``--no-cache``), a batch whose last run did not finish reuses that run's
    logged answers and sends only the rest (:mod:`..store.resume`; with a schema, only the
    answers that still match it). ``result`` (from :func:`result_for`) is filled in as answers
    arrive and can be cancelled.
    """
    result = result if result is not None else result_for(batch)
    jobs = check_concurrency(concurrency)
    batch_run = resume.begin(session, batch.requests, reuse=not fresh, keep=valid_resumed)
    requests = batch_run.apply(batch.requests) if batch_run is not None else batch.requests
    outcome = gather(session.send, requests, jobs, progress, into=result.results, cancel=result._cancel)
    resume.end(session, batch_run, outcome.results)
    return result.record_run(outcome, resumed=len(batch_run.resumed) if batch_run is not None else 0)
