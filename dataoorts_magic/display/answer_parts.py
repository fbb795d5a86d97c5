"""Pull the part the user asked for out of an answer: its first code block, or its JSON.

Backs ``--format code|json``: what the answer shows and what ``--out`` stores (``LlamaResponse.value``).
Models wrap what was asked for in prose and fences, so both look past them.
"""

from __future__ import annotations

import re

from .fences import fenced_blocks, normalize


def first_code_block(text: str) -> tuple[str | None, str] | None:
    """(language or None, source) of the first fenced code block (``` or ~~~) in ``text``, or None."""
    return next(fenced_blocks(text), None)


class NotJSON(ValueError):
    """An answer that is not JSON: ``problem`` says what is wrong, ``fix`` what to do.

    Kept apart so the magic can put its own words between them ("it is shown above as text")
    without quoting the whole message inside itself."""

    reason = ""  # why the text is not JSON, without the words around it (``structured`` quotes it)

    def __init__(self, problem: str, fix: str):
        super().__init__(f"{problem}. {fix}")
        self.problem, self.fix = problem, fix


def parse_json_answer(text: str):
    """The answer parsed as JSON: the whole text, else a fenced block (```json first), else a JSON value
    that starts a line and ends one. Strict (no NaN) and linear (``json_text``); raises :class:`NotJSON`
    with a one-line reason and fix."""
    from .json_text import BadJSON, first_value, loads

    text = normalize(text)
    if not text.strip():
        raise NotJSON("The answer is empty, so it is not JSON", "Ask again, or ask for JSON only.")
    blocks = list(fenced_blocks(text))
    tagged = [src for lang, src in blocks if lang and lang.lower() in ("json", "jsonc", "json5")]
    errors = []
    for candidate in [text] + tagged + [src for lang, src in blocks if src not in tagged]:
        try:
            return loads(candidate)
        except BadJSON as exc:
            errors.append(exc)
    error = errors[1] if tagged else errors[0]  # a ```json block's own error says most

    def ends_its_line(value, end):
        return text[end:].split("\n", 1)[0].strip() == ""

    starts = (m.start(1) for m in re.finditer(r"(?m)^[ \t]*([\[{])", text))
    found = first_value(text, starts, ends_its_line)
    if found is not None:
        return found
    problem = NotJSON(
        f"The answer is not valid JSON ({error.where()})",
        'Ask for JSON only (e.g. -s "Reply with JSON only."), or look at it with -f text.',
    )
    problem.reason = error.where()
    raise problem
