"""One request, built and checked before anything is sent: the typed, immutable :class:`Request`.

:func:`build_request` is the pure half of the pipeline and the one way every door (``%%llama``,
the panel, ``--over``, ``--compare``, ``ask``, ``ask_each``) makes a request: the effective
settings of this cell, the parameters validated against the model's ranges, the system prompt
and the user message, for a conversation its earlier turns trimmed to the model's context
window, and for ``--schema`` the answer's instructions appended to the system prompt.
``LlamaSession.send`` takes the result. A ``typing.NamedTuple``, not a dataclass: building the
class costs ``%load_ext`` nothing worth measuring, and ``_replace`` keeps :func:`with_texts`
cheap, so ``--over`` builds 100,000 requests in about a second.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..errors import ValidationError
from ..params import PARAMS, model_info, validate
from .conversations import Conversation


class Request(NamedTuple):
    """What ``LlamaSession.send`` sends, checked: nothing here is changed after it is built."""

    model: str
    messages: tuple  # of {"role", "content"} dicts, as sent
    params: dict  # validated; shared by the requests of one batch (never written)
    settings: dict  # the effective settings of this cell (cache, log, budget, timeouts, rate_limit...)
    prompt: str  # the user's text of this turn
    system: str | None  # the system prompt as the user gave it (the schema's instructions not included)
    format: str = "markdown"
    stream: bool = False
    chat: str | None = None  # the conversation this turn belongs to
    dropped: int = 0  # earlier turns left out to fit the window
    window: int | None = None  # the model's context window (a conversation's requests)
    schema: Any = None  # a structured.schema.Schema: the answer is parsed, validated, asked again once
    instructions: str | None = None  # the schema's text appended to the system prompt
    batch_run: int | None = None  # the run of a batch this request belongs to (the log links them)


def build_request(
    prompt: str, flags: dict, settings: dict, conversations, *, chat: str | None = None, schema=None
) -> Request:
    """The checked :class:`Request` for ``prompt``; nothing is sent.

    ``settings`` holds the effective settings (cell flags applied); ``flags`` says what this cell
    set itself (a ``-s`` restarts a conversation's system prompt); ``chat`` names a conversation
    of ``conversations``, which is only read here (its first answer creates it); ``schema`` (a
    ``Schema``) asks for one JSON object of it, as a whole answer (no stream).
    """
    model = settings["model"]
    _check_prompt(prompt)
    params = validate({name: settings[name] for name in PARAMS}, model)
    system = settings["system"]
    messages: list[dict] | tuple = _messages(prompt, system)
    dropped, window = 0, None
    if chat is not None:
        info = model_info(model)
        window = info.context_window if info else int(PARAMS["max_tokens"].max)
        conv = conversations.find(chat) or Conversation(chat)  # created by its first answer
        messages, system, dropped = conv.prepare(
            prompt, system, flags.get("system") is not None, window, params["max_tokens"]
        )
    instructions = None
    if schema is not None:
        from ..structured.answers import instructions as schema_instructions

        instructions = schema_instructions(schema)
        messages = _with_instructions(messages, instructions)
    return Request(
        model=model,
        messages=tuple(messages),
        params=params,
        settings=settings,
        prompt=prompt,
        system=system,
        format=settings["format"],
        stream=bool(settings["stream"]) and schema is None,
        chat=chat,
        dropped=dropped,
        window=window,
        schema=schema,
        instructions=instructions,
    )


def with_texts(base: Request, prompt: str, system: str | None) -> Request:
    """``base`` (a checked request, not of a conversation) for another prompt and system text.

    The model, parameters, settings and schema are the same objects as ``base``'s, not copies, so
    ``--over`` builds 100,000 requests in about a second, with memory for their texts only.
    """
    _check_prompt(prompt)
    messages = _messages(prompt, system)
    if base.instructions is not None:
        messages = _with_instructions(messages, base.instructions)
    return base._replace(messages=tuple(messages), prompt=prompt, system=system)


def _check_prompt(prompt: str) -> None:
    if not prompt or not prompt.strip():
        raise ValidationError(
            "The prompt is empty: write it in the cell body below %%llama (or after %llama on the same line)."
        )


def _messages(prompt: str, system: str | None) -> list[dict]:
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    return messages


def _with_instructions(messages, text: str) -> list[dict]:
    """``messages`` with ``text`` appended to the system prompt (or as one, when there is none)."""
    messages = list(messages)
    if messages and messages[0]["role"] == "system":
        messages[0] = {"role": "system", "content": f"{messages[0]['content']}\n\n{text}"}
    else:
        messages.insert(0, {"role": "system", "content": text})
    return messages
