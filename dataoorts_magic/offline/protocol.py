"""The offline endpoint's side of the wire protocol: envelopes, keys, bodies and answers.

Everything here is a pure function of a request's parts, so the HTTP server in
``server`` only routes, injects faults and writes bytes. Envelopes, codes and messages
follow the platform the Dataoorts endpoint mirrors (Cloudflare Workers AI, INTERFACE.md
section 1). Standard library only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from .. import params as _params
from .answers import SERVER_MAX_TOKENS, answer_text, count_tokens, cut_tokens, prompt_tokens, stream_pieces
from .input_schema import json_type, validate

PADDING = "abcdefghijklmnopqrstuvwxyz0123456789"

# Provider codes and messages as Cloudflare Workers AI (which the endpoint mirrors) uses them.
STATUS_CODES = {
    400: 5006,
    401: 10000,
    403: 10000,
    404: 7000,
    405: 7001,
    408: 3007,
    411: 5006,
    413: 3006,
    429: 3040,
    500: 3043,
    502: 3043,
    503: 3040,
    504: 3007,
}
CODE_MESSAGES = {
    5006: "Bad input",
    5007: "No such model",
    10000: "Authentication error",
    7000: "No route for that URI",
    7001: "Method not allowed",
    3006: "Request is too large",
    3007: "Request timeout",
    3040: "Capacity temporarily exceeded, please try again.",
    3043: "Internal server error",
}


@dataclass
class Reply:
    """One HTTP answer; ``events`` makes it a stream, ``drop`` cuts it short and closes the socket."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)
    events: list | None = None
    drop: bool = False


def dump(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def failure(status: int, code: int | None = None, message: str | None = None, headers=None) -> Reply:
    """The platform's failure envelope with ``status`` and one error."""
    code = code or STATUS_CODES.get(status, 3043)
    error = {"code": code, "message": message or CODE_MESSAGES.get(code, "Error")}
    body = {"errors": [error], "messages": [], "result": None, "success": False}
    return Reply(status, dump(body), headers=dict(headers or {}))


def bad_input(message: str) -> Reply:
    return failure(400, 5006, message)


def fingerprint(key: str) -> str:
    """How ``.requests`` shows a key: ``bearer-sha256:`` and the first 12 hex digits of its SHA-256."""
    return "bearer-sha256:" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:12]


def bearer_token(value: str | None) -> str | None:
    scheme, _, token = (value or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def redacted_headers(headers) -> dict:
    out = {}
    for name, value in headers.items():
        name = name.lower()
        out[name] = fingerprint(bearer_token(value) or value) if name == "authorization" else value
    return out


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes):
    """The parsed body, or ``ValueError`` for anything that is not strict UTF-8 JSON."""
    return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)


def _sse(event) -> bytes:
    return b"data: " + (event if isinstance(event, bytes) else json.dumps(event).encode()) + b"\n\n"


def _stream_events(text: str, usage: dict) -> list[bytes]:
    """The answer as SSE events; every third carries a padding key that clients must ignore."""
    events = []
    for index, piece in enumerate(stream_pieces(text)):
        event = {"response": piece}
        if index % 3 == 1:
            event["p"] = PADDING[: 4 + index % len(PADDING)]
        events.append(_sse(event))
    events.append(_sse({"response": "", "usage": usage}))
    events.append(_sse(b"[DONE]"))
    return events


def _answer(model: str, data: dict, text: str | None = None) -> Reply:
    """The success reply for a validated request: the answer (``text`` or generated), cut at max_tokens, with usage."""
    sent = {name: data[name] for name in _params.PARAMS if name in data and _params.supported(name, model)}
    for name in ("max_tokens", "top_k", "seed"):
        if name in sent:
            sent[name] = int(sent[name])  # 3.0 is a JSON Schema integer
    messages = data["messages"]
    text = answer_text(model, messages, sent) if text is None else text
    text = cut_tokens(text, sent.get("max_tokens", SERVER_MAX_TOKENS))
    prompt = prompt_tokens(messages)
    completion = count_tokens(text)
    usage = {"completion_tokens": completion, "prompt_tokens": prompt, "total_tokens": prompt + completion}
    if data.get("stream") is True:
        return Reply(200, content_type="text/event-stream", events=_stream_events(text, usage))
    result = {"response": text, "usage": usage}
    return Reply(200, dump({"errors": [], "messages": [], "result": result, "success": True}))


def api_reply(body, answer: str | None = None) -> Reply:
    """Validate an authenticated request's body and answer it (with ``answer``, when scripted)."""
    if not isinstance(body, dict):
        return bad_input(f"Type mismatch of '/', '{json_type(body)}' not in 'object'")
    model = body.get("model")
    if "model" not in body:
        return bad_input("Missing required property 'model'")
    if not isinstance(model, str):
        return bad_input(f"Type mismatch of '/model', '{json_type(model)}' not in 'string'")
    if model not in _params.models():
        return failure(400, 5007, f"No such model {model}")
    if "data" not in body:
        return bad_input("Missing required property 'data'")
    if not isinstance(body["data"], dict):
        return bad_input(f"Type mismatch of '/data', '{json_type(body['data'])}' not in 'object'")
    problem = validate(body["data"])
    return bad_input(problem) if problem else _answer(model, body["data"], answer)
