"""Named conversations (``%%llama -c NAME``), kept in memory for the session, and trimming to the window.

A ``Conversation`` holds its system prompt and its turns (user text, answer, and how the
answer was made). ``messages()`` is what a new turn sends; :func:`trim` drops the oldest
turns, never the system prompt or the new message, until the request fits the model's
context window with ``max_tokens`` to spare. Token counts are estimated, not tokenized:
``ceil(len(content) / 4) + 4`` per message (about four characters a token for English,
plus the role and framing), which errs on the long side for prose and needs no download.
"""

from __future__ import annotations

import math
import threading
import time

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
DEFAULT_CHAT = "default"


def estimate_tokens(messages: list[dict]) -> int:
    """The documented estimate of a request's prompt tokens (see the module docstring)."""
    return sum(math.ceil(len(m.get("content") or "") / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE for m in messages)


def trim(messages: list[dict], window: int, max_tokens: int) -> tuple[list[dict], int]:
    """``(messages that fit, turns dropped)``: drop the oldest user/assistant pairs first.

    The system message (if first) and the last message (the new turn) are always kept,
    so a prompt that is too long on its own is still sent and the server says so.
    """
    head = messages[:1] if messages and messages[0]["role"] == "system" else []
    body, last = messages[len(head) : -1], messages[-1:]
    dropped = 0
    while body and estimate_tokens(head + body + last) + max_tokens > window:
        body = body[2:] if len(body) >= 2 and body[1]["role"] == "assistant" else body[1:]
        dropped += 1
    return head + body + last, dropped


class Conversation:
    """One named thread: its system prompt and its turns, each a dict (see :meth:`add`).

    A plain class, not a dataclass: this module loads with the extension, and a dataclass costs
    about a millisecond of ``%load_ext`` to build."""

    def __init__(self, name: str, system: str | None = None, turns: list[dict] | None = None):
        self.name, self.system = name, system
        self.turns: list[dict] = [] if turns is None else turns

    def __repr__(self) -> str:
        return f"Conversation({self.name!r}, system={self.system!r}, turns={len(self.turns)})"

    def messages(self, prompt: str | None = None, system: str | None = None) -> list[dict]:
        """The system prompt (``system`` overrides the conversation's), every turn, then ``prompt``."""
        system = self.system if system is None else system
        out = [{"role": "system", "content": system}] if system else []
        for turn in self.turns:
            out.append({"role": "user", "content": turn["user"]})
            out.append({"role": "assistant", "content": turn["assistant"]})
        if prompt is not None:
            out.append({"role": "user", "content": prompt})
        return out

    def prepare(
        self, prompt: str, system: str | None, override: bool, window: int, max_tokens: int
    ) -> tuple[list[dict], str | None, int]:
        """``(messages, system, turns dropped)`` for a new turn, trimmed to ``window``.

        ``system`` is used on the first turn, or later when ``override`` (a ``-s`` flag);
        otherwise the conversation keeps the system prompt it started with.
        """
        if self.turns and not override:
            system = self.system
        messages, dropped = trim(self.messages(prompt, system=system or ""), window, max_tokens)
        return messages, system, dropped

    def add(self, user: str, response, system: str | None = None, dropped: int = 0) -> dict:
        """Record a successful turn (and the system prompt it was sent with); returns the turn."""
        from dataclasses import asdict  # a Usage: its module is loaded by now

        usage = response.usage
        turn = {
            "user": user,
            "assistant": response.text,
            "model": response.model,
            "params": dict(response.params),
            "usage": None if usage is None else asdict(usage),  # as the display's metadata has it
            "cost": response.cost,
            "elapsed": response.elapsed,
            "cached": response.cached,
            "offline": response.offline,
            "dropped": dropped,
            "time": time.time(),
        }
        self.system = system
        self.turns.append(turn)
        return turn

    @property
    def cost(self) -> float | None:
        """Total USD of the turns, or None when any turn's cost is unknown."""
        costs = [t["cost"] for t in self.turns]
        return None if any(c is None for c in costs) else sum(costs)


class Conversations:
    """The session's conversations by name; safe to use from the panel's worker thread."""

    def __init__(self):
        self._threads: dict[str, Conversation] = {}
        self._lock = threading.Lock()

    def get(self, name: str = DEFAULT_CHAT) -> Conversation:
        """The conversation called ``name``, created empty on first use."""
        with self._lock:
            if name not in self._threads:
                self._threads[name] = Conversation(name)
            return self._threads[name]

    def find(self, name: str) -> Conversation | None:
        """The conversation called ``name`` if it exists (looking never creates one)."""
        return self._threads.get(name)

    def names(self) -> list[str]:
        return list(self._threads)

    def clear(self, name: str | None = None) -> None:
        """Forget conversation ``name`` (all of them when None); the next turn starts afresh."""
        with self._lock:
            if name is None:
                self._threads.clear()
            else:
                self._threads.pop(name, None)

    def __contains__(self, name) -> bool:
        return name in self._threads

    def __len__(self) -> int:
        return len(self._threads)
