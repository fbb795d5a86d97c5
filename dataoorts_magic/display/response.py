"""``LlamaResponse``: one answer with its usage, cost and provenance, and how it displays.

A response renders itself (``_repr_mimebundle_``) so the cell, ``display(r)`` and a
saved notebook all show the same thing: sanitized HTML, safe Markdown and plain text,
each ending with the footer line, plus metadata that records how the answer was made.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict, dataclass, field

from .fences import line_ends
from .footer import footer_line
from .provenance import canonical_sha256
from .styles import footer_html


@dataclass(frozen=True)
class Usage:
    """Token counts as the server reported them."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def from_dict(cls, data) -> Usage | None:
        """The usage of a reply, or None when the server did not report it (never a crash)."""
        if not isinstance(data, dict):
            return None
        try:
            prompt = int(data.get("prompt_tokens") or 0)
            completion = int(data.get("completion_tokens") or 0)
            total = int(data.get("total_tokens") or prompt + completion)
        except (TypeError, ValueError):
            return None
        return cls(prompt, completion, total)

    def __add__(self, other: Usage) -> Usage:
        """The usage of two exchanges together (a --schema answer asked again)."""
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
        )


@dataclass
class LlamaResponse:
    """An answer: ``str(r)`` is its text; displaying it shows the rendered answer and footer."""

    text: str
    model: str
    params: dict
    messages: list
    usage: Usage | None = None
    cost: float | None = None
    elapsed: float = 0.0
    cached: bool = False
    offline: bool = False
    raw: dict = field(default_factory=dict, repr=False)
    format: str = "markdown"
    notes: list = field(default_factory=list)
    data: dict | None = None  # the validated object of a --schema answer
    budget: tuple[float, float] | None = None  # (left, of it): a class gateway's word, shown in the footer

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        head = self.text.strip().replace("\n", " ")
        head = head[:60] + "…" if len(head) > 60 else head
        return f"<LlamaResponse {self.footer()}: {head!r}>"

    @property
    def truncated(self) -> bool:
        """True when the completion used all of max_tokens: the answer was probably cut off."""
        limit = self.params.get("max_tokens")
        return bool(self.usage and limit and self.usage.completion_tokens >= limit)

    @property
    def prompt_sha256(self) -> str:
        return canonical_sha256(self.messages)

    @property
    def value(self):
        """What ``--out`` stores: the validated dict of a --schema answer, the source for code, the object for json."""
        if self.data is not None:
            return self.data
        from .answer_parts import first_code_block, parse_json_answer

        if self.format == "code":
            block = first_code_block(self.text)
            return block[1] if block else self.text.strip()
        if self.format == "json":
            return parse_json_answer(self.text)
        return self

    def footer(self) -> str:
        """One line: model, prompt -> completion tokens, cost, seconds, flags and warnings."""
        line = footer_line(
            self.model,
            self.usage,
            self.cost,
            elapsed=self.elapsed,
            cached=self.cached,
            offline=self.offline,
            notes=self.notes,
            budget=self.budget,
        )
        if self.truncated:
            line += (
                f" · ⚠ used all {self.params['max_tokens']} max_tokens: the answer was probably cut off"
                " (raise -n/--max-tokens)"
            )
        return line

    def metadata(self) -> dict:
        return {
            "dataoorts_magic": {
                "model": self.model,
                "params": dict(self.params),
                "usage": asdict(self.usage) if self.usage else None,
                "cost": self.cost,
                "elapsed": round(self.elapsed, 4),
                "prompt_sha256": self.prompt_sha256,
                "cached": self.cached,
                "offline": self.offline,
            }
        }

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .answer_parts import first_code_block
        from .render import code_html, escape_text, to_html
        from .safe_markdown import to_safe_markdown

        footer = self.footer()
        footer_html = footer_div(footer)
        footer_md = "\n\n---\n*" + markdown_literal(footer) + "*\n"
        data = {}
        # No application/json beside the HTML: JupyterLab would prefer its JSON tree and lose the footer.
        if self.data is not None:  # a --schema answer: its fields as a table (escaped), the object as JSON Markdown
            from .field_table import field_table

            table = field_table(self.data)
            data["text/html"] = table._repr_html_() + footer_html
            data["text/markdown"] = fenced(json.dumps(self.data, indent=2, ensure_ascii=False), "json") + footer_md
            plain = repr(table)
        elif self.format == "text":
            data["text/html"] = f'<pre class="dataoorts-text">{escape_text(self.text)}</pre>' + footer_html
            data["text/markdown"] = fenced(self.text, "text") + footer_md
            plain = self.text
        elif self.format in ("code", "json"):
            if self.format == "code":
                block = first_code_block(self.text)
                language, source = block if block else (None, self.text.strip())
            else:
                obj = self.value
                language, source = "json", json.dumps(obj, indent=2, ensure_ascii=False)
            data["text/html"] = code_html(source, language) + footer_html
            data["text/markdown"] = fenced(source, language or "") + footer_md
            plain = source
        else:
            data["text/html"] = to_html(self.text) + footer_html
            data["text/markdown"] = to_safe_markdown(self.text) + footer_md
            plain = self.text
        data["text/plain"] = f"{plain}\n\n-- {footer}"
        return data, self.metadata()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]$~|#])")


def footer_div(line: str) -> str:
    """The grey line under an answer (its footer, or a stream's progress note), escaped."""
    return footer_html(line, extra="margin-top:.5em")


def markdown_literal(text: str) -> str:
    """Our own one-line text (the footer: it may hold a model name a user typed) as literal Markdown."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def fenced(source: str, language: str) -> str:
    """A fenced block that no run of backticks inside ``source`` can close early (line ends made LF
    first: a bare CR or U+2028 ends a line for some renderers, and could hide a closing fence)."""
    source = line_ends(source)
    longest = max((len(line.strip()) for line in source.split("\n") if set(line.strip()) == {"`"}), default=0)
    fence = "`" * max(3, longest + 1)
    language = "".join(ch for ch in language if ch.isalnum() or ch in "+-_#.")
    return f"{fence}{language}\n{source}\n{fence}\n"
