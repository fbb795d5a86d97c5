"""Section 1 of INTERFACE.md as the gateway reads it: a student's body, its worst case, the usage of a reply.

The gateway checks only what it must know before it spends: a model with a price, the messages
(for the prompt estimate) and ``max_tokens`` (capped by ``--max-tokens``). Everything else is
forwarded as sent and judged by the upstream endpoint, whose failure envelope the student
then sees unchanged. Failures the gateway makes itself use the same envelope (``offline.protocol``).
"""

from __future__ import annotations

import json

from ..client.envelope import GATEWAY_REFUSAL_HEADER
from ..offline.protocol import Reply, bad_input, failure, parse_json
from ..params import DEFAULT_MAX_TOKENS, model_info
from ..pipeline.budget import worst_prompt_tokens

NANO_PER_USD_PER_MTOK = 1000  # a price in USD per million tokens is this many nano-USD per token


def refusal(status: int, code: int, message: str, headers: dict | None = None) -> Reply:
    """The gateway's own refusal, whose ``message`` names the student's fix ("ask your teacher"): the
    header tells the extension to show that message as the whole advice (INTERFACE.md section 14)."""
    return failure(status, code, message, {**(headers or {}), GATEWAY_REFUSAL_HEADER: "1"})


class Ask:
    """A student's request, read: the body to forward, its model, messages and max_tokens."""

    def __init__(self, body: dict, model: str, messages: list, max_tokens: int):
        self.body, self.model, self.messages, self.max_tokens = body, model, messages, max_tokens

    @property
    def stream(self) -> bool:
        return self.body["data"].get("stream") is True

    def raw(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()


def read_ask(raw: bytes, cap: int | None) -> Ask | Reply:
    """The request in ``raw``, or the failure reply to send instead (nothing forwarded)."""
    try:
        body = parse_json(raw)
    except (ValueError, UnicodeDecodeError):
        return bad_input("The request body is not valid JSON")
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return bad_input("The body needs a 'model' string and a 'data' object (see the Dataoorts API docs)")
    data = body.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        return bad_input("The body needs 'data' with a 'messages' list")
    messages = data["messages"]
    if not all(isinstance(m, dict) and isinstance(m.get("content", ""), str) for m in messages):
        return bad_input("Each message needs a 'content' string")
    info = model_info(body["model"])
    if info is None:
        return failure(400, 5007, f"No such model {body['model'][:100]} at this gateway: it has no price to budget")
    limit = min(cap or info.context_window, info.context_window)
    max_tokens = data.get("max_tokens", DEFAULT_MAX_TOKENS)
    if isinstance(max_tokens, float) and max_tokens.is_integer():
        max_tokens = int(max_tokens)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        return bad_input(f"max_tokens={str(max_tokens)[:40]} is out of range: give a whole number from 1 to {limit}")
    data["max_tokens"] = min(max_tokens, limit)  # always sent, so the worst case below is the real bound
    return Ask(body, body["model"], messages, data["max_tokens"])


def price(model: str, prompt_tokens: int, completion_tokens: int) -> int:
    """Nano-USD for these tokens at the model's prices (whole numbers: exact sums)."""
    info = model_info(model)
    return round(
        prompt_tokens * info.input_usd_per_mtok * NANO_PER_USD_PER_MTOK
        + completion_tokens * info.output_usd_per_mtok * NANO_PER_USD_PER_MTOK
    )


def worst_case(ask: Ask) -> int:
    """The most this request can cost: an upper bound on its prompt plus all of max_tokens."""
    return price(ask.model, worst_prompt_tokens(ask.messages), ask.max_tokens)


def usage_tokens(usage) -> tuple[int, int] | None:
    """(prompt, completion) from a ``usage`` object, or None when it is missing or malformed."""
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (prompt, completion)):
        return prompt, completion
    return None


def json_answer(content: bytes) -> tuple[tuple[int, int] | None, str | None]:
    """The usage and the answer text of a whole JSON reply (None for what it does not carry)."""
    try:
        result = parse_json(content).get("result")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None, None
    if not isinstance(result, dict):
        return None, None
    text = result.get("response")
    return usage_tokens(result.get("usage")), text if isinstance(text, str) else None


def error_code(content: bytes) -> int | None:
    """The provider's code in a failure envelope (``errors[0].code``), or None."""
    try:
        errors = parse_json(content).get("errors")
        code = errors[0].get("code") if errors else None
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError, KeyError):
        return None
    return code if isinstance(code, int) else None


class StreamReader:
    """Reads the events of a stream as they pass through, for its usage (and text, to log it)."""

    def __init__(self):
        self.usage: tuple[int, int] | None = None
        self.parts: list[str] = []
        self._pending = b""

    def feed(self, chunk: bytes) -> None:
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()[-65536:]  # a line without its end yet (bounded)
        for line in lines:
            line = line.strip()
            if not line.startswith(b"data:") or line[5:].strip() == b"[DONE]":
                continue
            try:
                event = json.loads(line[5:])
            except ValueError:
                continue
            if isinstance(event, dict):
                if isinstance(event.get("response"), str):
                    self.parts.append(event["response"])
                self.usage = usage_tokens(event.get("usage")) or self.usage

    @property
    def text(self) -> str:
        return "".join(self.parts)
