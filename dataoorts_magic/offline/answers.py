"""What the offline endpoint says: a tiny tokenizer and generated Markdown that echoes the request.

There is no model behind the offline endpoint. Its answer is Markdown built from the
request (a heading, a notice that says so, the parameters received, the system prompt's
wording, a small table, a Python code block, then the last user message quoted, its lines
kept so that a table in it reads as a table), so a notebook shows
every kind of block the renderer must handle. The wording is drawn with a
``random.Random`` seeded from the request: the same messages, parameters and seed give the
same answer; a higher temperature draws from more phrasings; with no seed (and a
temperature above 0) it may change per request. A last user message that mentions "json"
gets a fenced JSON object instead, for ``-f json``; a ``--schema`` request gets an object of
the asked shape (``json_answers``). Standard library only.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from collections import Counter

from .json_answers import requested_schema, schema_answer

TOKEN_RE = re.compile(r"\w+|[^\w\s]")
WORD_RE = re.compile(r"\w+")
DEFAULT_TEMPERATURE = 0.6  # the platform's default, used when the request sends none
SERVER_MAX_TOKENS = 256  # what the platform fills in when max_tokens is absent

HEADINGS = (
    "Offline echo",
    "Echo from the offline endpoint",
    "Your request, reflected",
    "A dry run, offline",
    "Offline reply",
    "Nothing but an echo",
)
ADJECTIVES = ("plain", "tidy", "careful", "quiet", "brisk", "curious", "sprightly", "whimsical")
OPENERS = (
    "Here is what arrived.",
    "Your request came through.",
    "Request received.",
    "All parameters accounted for.",
    "Echoing back, as promised.",
    "Straight back at you.",
)


def count_tokens(text: str) -> int:
    """Tokens as this endpoint counts them: each run of word characters and each punctuation mark."""
    return len(TOKEN_RE.findall(text))


def cut_tokens(text: str, limit: int) -> str:
    """``text`` up to the end of its ``limit``-th token (the whole text when it has no more)."""
    if limit <= 0:
        return ""
    for index, match in enumerate(TOKEN_RE.finditer(text), 1):
        if index == limit:
            return text[: match.end()]
    return text


def prompt_tokens(messages: list[dict]) -> int:
    """Prompt usage: the tokens of every message's content plus 4 per message (role and framing)."""
    return sum(count_tokens(m["content"]) + 4 for m in messages)


def stream_pieces(text: str, tokens_per_piece: int = 3) -> list[str]:
    """Split ``text`` at token starts into pieces of a few tokens that join back to ``text``."""
    starts = [m.start() for m in TOKEN_RE.finditer(text)][tokens_per_piece::tokens_per_piece]
    bounds = [0, *starts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def last_user_text(messages: list[dict]) -> str:
    """The content of the last ``user`` message ('' when there is none)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return message["content"]
    return ""


def make_rng(model: str, messages: list[dict], params: dict) -> random.Random:
    """A generator seeded from the request when it must repeat (a seed, or temperature 0), else fresh.

    ``max_tokens`` is left out of the seed so a shorter limit cuts the same answer.
    """
    temperature = params.get("temperature", DEFAULT_TEMPERATURE)
    if "seed" not in params and temperature != 0:
        return random.Random()
    shown = {k: v for k, v in params.items() if k != "max_tokens"}
    material = json.dumps([model, [[m["role"], m["content"]] for m in messages], shown], sort_keys=True)
    return random.Random(int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big"))


def _pick(rng: random.Random, options: tuple[str, ...], temperature: float) -> str:
    """One option; temperature 0 always takes the first, 1.5 and above may take any."""
    width = 1 + round(min(temperature, 1.5) / 1.5 * (len(options) - 1))
    return rng.choice(options[:width])


def _number(value) -> str:
    return json.dumps(value)


def _bullets(model: str, messages: list[dict], params: dict) -> list[str]:
    roles = ", ".join(m["role"] for m in messages) or "none"
    lines = [f"- **model**: `{model}`", f"- **messages**: {len(messages)} ({roles})"]
    if "max_tokens" in params:
        lines.append(f"- **max_tokens**: {params['max_tokens']}")
    else:
        lines.append(f"- **max_tokens**: not sent ({SERVER_MAX_TOKENS}, the server default)")
    if "temperature" in params:
        lines.append(f"- **temperature**: {_number(params['temperature'])}")
    else:
        lines.append(f"- **temperature**: not sent ({DEFAULT_TEMPERATURE}, the server default)")
    if "seed" in params:
        lines.append(f"- **seed**: {params['seed']}")
    else:
        lines.append("- **seed**: not set")
    for name, value in params.items():
        if name not in ("max_tokens", "temperature", "seed"):
            lines.append(f"- **{name}**: {_number(value)}")
    return lines


def _table(rng: random.Random, words: list[str]) -> list[str]:
    common = sorted(Counter(w.lower() for w in words if len(w) >= 3).items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    rows = ["| word | count | weight |", "|---|---|---|"]
    for word, count in common or [("(none)", 0)]:
        rows.append(f"| {word} | {count} | {rng.random():.2f} |")
    return rows


def _markdown(rng, model, messages, params, prompt, temperature) -> str:
    words = WORD_RE.findall(prompt)
    adjective = _pick(rng, ADJECTIVES, temperature)
    parts = [
        f"## {_pick(rng, HEADINGS, temperature)}",
        f"{_pick(rng, OPENERS, temperature)} This answer comes from the **dataoorts-magic offline "
        "endpoint**, not from a language model: it echoes your request so you can check what was sent.",
        "\n".join(_bullets(model, messages, params)),
        "\n".join(_table(rng, words)),
        "\n".join(
            [
                "```python",
                f"# a {adjective} offline echo",
                f"prompt_words = {len(words)}",
                f"temperature = {_number(temperature)}",
                'print(f"{prompt_words} words at temperature {temperature}")',
                "```",
            ]
        ),
        quoted("You asked", prompt) if prompt.strip() else "**You asked:** (no user message)",
    ]
    system = next((m["content"] for m in messages if m.get("role") == "system"), None)
    if system is not None:  # a teacher checks the system prompt's wording too
        parts.insert(3, quoted("System prompt", system))
    return "\n\n".join(parts) + "\n"


def quoted(label: str, text: str) -> str:
    """``**label:** text`` for one line; more lines as a block quote that keeps them, so a table in
    the prompt (a DataFrame interpolated as Markdown) is echoed as a table, not one long paragraph."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    if len(lines) <= 1:
        return f"**{label}:** {' '.join(text.split())}"
    return f"**{label}:**\n\n" + "\n".join(f"> {line}" if line else ">" for line in lines)


def _json_answer(rng, model, params, prompt, temperature) -> str:
    words = [w.lower() for w in WORD_RE.findall(prompt)] or ["nothing"]
    payload = {
        "source": "offline",
        "model": model,
        "prompt_words": len(WORD_RE.findall(prompt)),
        "temperature": temperature,
        "seed": params.get("seed"),
        "items": [rng.choice(words) for _ in range(3)],
    }
    return (
        f"Here is a {_pick(rng, ADJECTIVES, temperature)} JSON object from the dataoorts-magic offline "
        f"endpoint (not a model):\n\n```json\n{json.dumps(payload, indent=2)}\n```\n"
    )


def answer_text(model: str, messages: list[dict], params: dict) -> str:
    """The whole answer (before any ``max_tokens`` cut) for a validated request.

    ``params`` holds only the sampling parameters the request set and the model takes. A request
    with our schema instructions gets a made-up object of that shape (``json_answers``).
    """
    schema = requested_schema(messages)
    if schema is not None:
        return schema_answer(schema, messages)
    rng = make_rng(model, messages, params)
    temperature = params.get("temperature", DEFAULT_TEMPERATURE)
    prompt = last_user_text(messages)
    if "json" in prompt.lower():
        return _json_answer(rng, model, params, prompt, temperature)
    return _markdown(rng, model, messages, params, prompt, temperature)
