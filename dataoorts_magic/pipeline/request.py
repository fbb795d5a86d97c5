"""One request, built and checked before anything is sent: model, messages, parameters, settings.

:func:`build_request` is the pure half of the pipeline: the effective settings of this cell,
the parameters validated against the model's ranges, the system prompt and the user message,
and for a conversation its earlier turns, trimmed to the model's context window. The request
is a plain dict that ``LlamaSession.send`` takes (``--over`` builds many before sending one).
"""

from __future__ import annotations

from ..errors import ValidationError
from ..params import PARAMS, model_info, validate
from .conversations import Conversation


def build_request(prompt: str, flags: dict, eff: dict, conversations, chat: str | None = None) -> dict:
    """``{model, messages, params, settings, chat, prompt, system, dropped[, window]}``, checked.

    ``eff`` holds the effective settings (cell flags applied); ``chat`` names a conversation
    of ``conversations``, which is only read here (its first answer creates it).
    """
    model = eff["model"]
    _check_prompt(prompt)
    params = validate({name: eff[name] for name in PARAMS}, model)
    req = {
        "model": model,
        "messages": _messages(prompt, eff["system"]),
        "params": params,
        "settings": eff,
        "chat": chat,
        "prompt": prompt,
        "system": eff["system"],
        "dropped": 0,
    }
    if chat is not None:
        info = model_info(model)
        window = info.context_window if info else PARAMS["max_tokens"].max
        conv = conversations.find(chat) or Conversation(chat)  # created by its first answer
        req["messages"], req["system"], req["dropped"] = conv.prepare(
            prompt, eff["system"], flags.get("system") is not None, window, params["max_tokens"]
        )
        req["window"] = window
    return req


def with_texts(base: dict, prompt: str, system: str | None) -> dict:
    """``base`` (a checked request, not of a conversation) for another prompt and system text.

    The model, parameters and settings are the same objects as ``base``'s, not copies, so
    ``--over`` builds 100,000 requests in about a second, with memory for their texts only.
    """
    _check_prompt(prompt)
    return {**base, "messages": _messages(prompt, system), "prompt": prompt, "system": system}


def _check_prompt(prompt: str) -> None:
    if not prompt or not prompt.strip():
        raise ValidationError(
            "The prompt is empty: write it in the cell body below %%llama (or after %llama on the same line)."
        )


def _messages(prompt: str, system: str | None) -> list[dict]:
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    return messages
