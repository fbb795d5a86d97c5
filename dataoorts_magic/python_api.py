"""``dataoorts_magic.ask`` and ``ask_each``: the magics' pipeline for code outside a cell.

The package ``__init__`` holds the documented signatures and imports this module on the first
call. The work is the magics' own: ``LlamaSession.request`` builds the checked request (nothing
is sent on a bad argument) and ``LlamaSession.send`` sends it (``schema=`` included);
``over.prepare`` / ``over.run`` do the items. Bad arguments raise the package's ``LlamaError``
kinds: the magics' line for what both share (a parameter out of range), in Python's words for the
batch (``items=``, ``concurrency=``).
"""

from __future__ import annotations

from .batch import over
from .display.progress import Progress
from .errors import ValidationError
from .params import PARAMS, coerce
from .pipeline.current_session import current_session
from .structured.schema import from_value


def _flags(system, model, params: dict) -> dict:
    """The magics' flags from keyword arguments; an unknown parameter fails as ``%%llama`` would."""
    for name, value in params.items():
        if name not in PARAMS:
            coerce(name, value)  # raises "unknown parameter ...: use one of ..."
    for name, value in (("system", system), ("model", model)):
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"{name}={value!r} is not text: give a string, e.g. {name}='...'.")
    return {**params, "system": system, "model": model, "stream": False}


def _text(prompt, where: str) -> str:
    if not isinstance(prompt, str):
        hint = " (ask_each(items, prompt) sends one request per item)" if where == "ask" else ""
        raise ValidationError(f"{where}(): the prompt is a {type(prompt).__name__}, not text: give a string{hint}.")
    return prompt


def ask(prompt, *, system=None, model=None, chat=None, schema=None, **params):
    session = current_session()
    flags = _flags(system, model, params)
    compiled = from_value(schema) if schema is not None else None
    return session.send(session.request(_text(prompt, "ask"), flags, chat=chat, schema=compiled))


def ask_each(items, prompt, *, concurrency=None, system=None, model=None, chat=None, schema=None, **params):
    if chat is not None:
        raise ValidationError("chat applies to a single request, not to ask_each: drop chat (or call ask per item).")
    session = current_session()
    flags = _flags(system, model, params)
    compiled = from_value(schema) if schema is not None else None
    if concurrency is not None and (isinstance(concurrency, bool) or not isinstance(concurrency, int)):
        raise ValidationError(f"concurrency={concurrency!r} is not a whole number: give e.g. concurrency=4.")
    jobs = over.check_concurrency(
        concurrency if concurrency is not None else session.effective()["concurrency"], over.PYTHON_VOICE
    )
    text = _text(prompt, "ask_each")
    batch = over.prepare(session, text, flags, "items", {"items": items}, schema=compiled, voice=over.PYTHON_VOICE)
    result = over.run(session, batch, jobs, Progress())
    if result.interrupted:
        raise KeyboardInterrupt
    if result.stopped_by is not None and not result.responses:
        raise result.stopped_by  # nothing arrived: a failure every item would repeat (no key, quota...)
    return result
