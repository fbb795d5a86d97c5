"""The answer envelope, read: what an HTTP answer (or a finished stream) means, as a Reply or an error.

The endpoint answers as Cloudflare Workers AI does: ``{"success": true, "result": {"response",
"usage"}}``, or ``{"success": false, "errors": [{"code", "message"}]}`` (OpenAI-style ``error``
is read too). :func:`reply_from` turns status, headers and body into a :class:`Reply` or raises
the matching :mod:`errors` kind, with ``retryable`` set by the :mod:`retry_policy`. Whatever
text a server sends back is cut to one short line with the key removed, and a page that is not
JSON (an HTML login or proxy page) is named by its title, never shown whole. Pure: no network.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..errors import BadResponseError, LlamaError, ModelNotFoundError, clip, error_class, redact
from .retry_policy import retry_after_seconds, should_retry

MESSAGE_LIMIT = 200
# A class gateway (INTERFACE.md section 14) sets this header to 1 on its own refusals (a wrong
# token, a pause, a student's rate or budget): their message is the whole story, fix included.
GATEWAY_REFUSAL_HEADER = "X-Dataoorts-Gateway"
MAX_COUNT = 2**53  # a token count past this is not a count (and would not price as a float)


@dataclass
class Reply:
    """One answer: the text, the usage as reported (None if not), and how the call went."""

    text: str
    usage: dict | None
    raw: dict
    status: int
    elapsed: float = 0.0
    retries: int = 0
    waited: float = 0.0
    notes: list[str] = field(default_factory=list)
    budget: tuple[float, float] | None = None  # (left, of it) in dollars, when a class gateway said so


def gateway_budget(headers) -> tuple[float, float] | None:
    """(left, budget) in dollars from a class gateway's ``X-Dataoorts-Budget-Remaining`` and
    ``X-Dataoorts-Budget`` headers (INTERFACE.md section 14); None without both or when they do not add up."""
    try:
        left, budget = float(headers["X-Dataoorts-Budget-Remaining"]), float(headers["X-Dataoorts-Budget"])
    except (KeyError, TypeError, ValueError):
        return None
    return (left, budget) if 0 <= left <= budget < 1e9 else None


def normalize_usage(usage) -> dict | None:
    """``{"prompt_tokens", "completion_tokens", "total_tokens"}`` as ints, or None if not usable."""
    if not isinstance(usage, dict):
        return None

    def count(value):
        # finite, whole, not negative, and small enough to price as a float (nan, 1e999, -1 are not counts)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
            return int(value) if value == int(value) else None
        return None

    prompt, completion = count(usage.get("prompt_tokens")), count(usage.get("completion_tokens"))
    if prompt is None or completion is None:
        return None
    total = count(usage.get("total_tokens"))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion if total is None else total,
    }


def short_message(text: str, key) -> str:
    """``text`` as one line of at most MESSAGE_LIMIT characters, with ``key`` removed."""
    return clip(redact(str(text), key) or "", MESSAGE_LIMIT)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _first_error(payload: dict) -> tuple[int | None, str | None]:
    """(code, message) of the first error in a Cloudflare-style (or OpenAI-style) envelope."""
    errors = payload.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else payload.get("error")
    if isinstance(first, dict):
        message = first.get("message")
        return _int(first.get("code")), None if message is None else str(message)
    return None, None if first in (None, "", [], {}) else str(first)


def _body_problem(content: bytes, content_type: str) -> str:
    """A few words about a body that is not a JSON object (never the whole page)."""
    if not content.strip():
        return "empty body"
    head = content[:4096].decode("utf-8", "replace")
    if "html" in content_type.lower() or head.lstrip().startswith("<"):
        title = re.search(r"<title[^>]*>(.*?)</title>", head, re.I | re.S)
        return "HTML page from a proxy" + (f": {title.group(1).strip()[:80]}" if title else "")
    return f"not JSON: {head[:100]}"


def parse_json(content: bytes | bytearray | str):
    """JSON from bytes; a few invalid UTF-8 bytes are replaced (U+FFFD), not fatal. ValueError if not JSON."""
    if isinstance(content, (bytes, bytearray)):
        return json.loads(bytes(content).decode(json.detect_encoding(content), "replace"))
    return json.loads(content)


def reply_from(status: int, headers, content: bytes, key=None) -> Reply:
    """Read one whole HTTP answer: a :class:`Reply`, or raise the matching :class:`LlamaError`.

    The raised error's ``retryable`` says whether the retry policy would try again. Parsing may
    raise RecursionError for absurdly nested JSON; the client turns that into one line.
    """
    try:
        payload = parse_json(content) if content.strip() else None
    except ValueError:
        payload = None
    ok = 200 <= status < 300
    if isinstance(payload, dict):
        result = payload.get("result")
        if ok and payload.get("success") is not False and isinstance(result, dict):
            text = result.get("response")
            if text is not None and not isinstance(text, str):
                text = json.dumps(text, ensure_ascii=False)
            return Reply(text=text or "", usage=normalize_usage(result.get("usage")), raw=payload, status=status)
        code, message = _first_error(payload)
        if message is None:
            message = (
                "the answer has no 'result'"
                if ok and payload.get("success") is not False
                else "no error message was given"
            )
    else:
        code, message = (
            None,
            "JSON that is not an object"
            if payload is not None
            else _body_problem(content, headers.get("Content-Type", "")),
        )
    if 300 <= status < 400:
        raise BadResponseError(
            "The endpoint answered with a redirect",
            status=status,
            provider_message=short_message(f"to {headers.get('Location', '?')}", key),
            fix="Set DATAOORTS_API_URL to the final address (redirects are not followed, so the key stays put).",
        )
    kind = error_class(None if ok else status, code)
    err = kind(
        status=status, code=code, provider_message=short_message(message, key), retry_after=retry_after_seconds(headers)
    )
    if kind is ModelNotFoundError and code is None and not isinstance(payload, dict):
        err.fix = "Check DATAOORTS_API_URL (this answer did not come from the API) or pick a model from %llama_models."
        err.refresh()
    err.retryable = should_retry(status, code)
    if not ok and err.provider_message and headers.get(GATEWAY_REFUSAL_HEADER) == "1":
        err.by_gateway = True  # the teacher's gateway said what to do: say only that
        err.refresh()
    raise err


def stream_error(event: dict, status: int, key) -> LlamaError:
    """The error an ``{"success": false, "errors": [...]}`` event inside a stream stands for."""
    code, message = _first_error(event)
    err = error_class(None, code)(
        status=status, code=code, provider_message=short_message(message or "error event in the stream", key)
    )
    err.retryable = should_retry(None, code)
    return err


def reply_from_stream(text: str, usage, done: bool, status: int) -> Reply:
    """The :class:`Reply` for a stream read to its end (a note if it never said ``[DONE]``)."""
    usage = normalize_usage(usage)
    notes = [] if done else ["the stream ended without its [DONE] marker; the answer may be incomplete"]
    raw = {"success": True, "result": {"response": text, "usage": usage}, "streamed": True}
    return Reply(text=text, usage=usage, raw=raw, status=status, notes=notes)
