"""The one request pipeline: effective settings -> validation -> endpoint and key -> HTTP -> LlamaResponse.

Every front door (``%%llama``, the panel, ``--over``, ``--compare``) calls
``LlamaSession.ask`` and none talks to the HTTP client directly, so a fix lands once; and
every HTTP attempt takes its turn from the session's one rate limiter (:mod:`.rate_limit`).
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from typing import TYPE_CHECKING

from ..errors import ConfigError, LlamaError, LogError, MissingKeyError
from ..params import PARAMS, cost, model_info, validate
from ..secret import Secret
from . import settings as settings_mod
from .budget import Spending, worst_prompt_tokens
from .conversations import Conversations

if TYPE_CHECKING:  # imported at first use, to keep %load_ext light
    from ..display.response import LlamaResponse
    from .log import ExchangeLog
    from .rate_limit import RateLimiter

_client_lock = threading.Lock()


class LlamaSession:
    """Holds what lives for the kernel's lifetime: the typed key, the HTTP client, one-time notes."""

    def __init__(self, settings: settings_mod.LlamaSettings, stderr=None):
        self.settings = settings
        self.session_set: set[str] = set()
        self._key: Secret | None = None  # the one typed with %llama_key; it never shows itself
        self._client = None
        self._warned: set[str] = set()
        self._stderr = stderr
        self.id = os.urandom(8).hex()  # this session's rows in the log
        self.conversations = Conversations()
        self.spending = Spending()
        self._log: ExchangeLog | None = None
        self._limiter: RateLimiter | None = None

    def __repr__(self):
        return f"<LlamaSession key={'set' if self.key_is_set() else 'not set'}>"

    # --- settings -------------------------------------------------------------------------
    def set_key(self, key: str | None) -> None:
        self._key = Secret.of(key)

    def key_is_set(self) -> bool:
        return settings_mod.read_key(self._key) is not None

    def resolve(self, flags: dict | None = None) -> dict:
        """``{name: (value, source)}`` for every setting, this cell's flags first."""
        return settings_mod.resolve(self.settings, flags, self.session_set)

    def effective(self, flags: dict | None = None) -> dict:
        return {name: value for name, (value, _) in self.resolve(flags).items()}

    def configure(self, changes: dict) -> None:
        """Set session defaults (``%llama_config a=1 b=2``): all are validated first, so a bad one changes nothing."""
        model = changes.get("model") or self.effective()["model"]
        validate({name: value for name, value in changes.items() if name in PARAMS}, model)
        for name, value in changes.items():
            self.settings.set_trait(name, value if value is not None else self.settings.trait_defaults(name))
            self.session_set.add(name)

    def reset(self) -> None:
        for name in settings_mod.SETTING_NAMES:
            self.settings.set_trait(name, self.settings.trait_defaults(name))
        self.session_set.clear()

    @property
    def spent(self) -> float:
        """USD this session has paid for (cache hits and failures cost nothing)."""
        return self.spending.spent

    # --- the pipeline ---------------------------------------------------------------------
    def request(self, prompt: str, flags: dict | None = None, *, chat: str | None = None) -> dict:
        """Everything needed to send, checked: model, messages, params, format. Nothing is sent.

        ``chat`` names a conversation: its system prompt and earlier turns come first, trimmed to
        the model's context window. ``flags["no_cache"]`` (``--no-cache``) turns the cache off.
        """
        flags = dict(flags or {})
        if flags.pop("no_cache", False):
            flags["cache"] = "off"
        from .request import build_request

        return build_request(prompt, flags, self.effective(flags), self.conversations, chat)

    def ask(self, prompt: str, flags: dict | None = None, *, chat: str | None = None, on_text=None) -> LlamaResponse:
        """Send one prompt (a turn of conversation ``chat`` if given) and return the answer.

        Raises a ``LlamaError`` with a one-line message; a failed turn adds nothing to the conversation.
        """
        req = self.request(prompt, flags, chat=chat)
        return self.send(req, on_text=on_text)

    def send(self, req: dict, on_text=None, *, control=None) -> LlamaResponse:
        """Cache lookup, budget check, the HTTP call (paced by the rate limit), then the log and the turn.

        ``control`` is what a batch hands each request (see :mod:`.rate_limit`): it can stop a
        request that waits for its turn and is told of every refusal for the rate limit.
        """
        eff = req["settings"]
        hit = self._from_cache(req, on_text)
        if hit is not None:
            return self._finish(req, hit)
        url, key, offline = self._endpoint(eff)
        client = self._client_for(url)
        held = self.spending.reserve(
            req["model"], worst_prompt_tokens(req["messages"]), req["params"]["max_tokens"], eff["budget"]
        )
        chat = functools.partial(
            client.chat,
            req["model"],
            req["messages"],
            req["params"],
            api_key=key,
            timeout=eff["timeout"],
            connect_timeout=eff["connect_timeout"],
            stream=bool(eff["stream"]),
            on_text=on_text,
        )
        try:
            reply = self.rate_limiter.call(
                chat, per_minute=eff["rate_limit"], max_retries=eff["max_retries"], control=control
            )
        except LlamaError as err:
            from .rate_limit import Withdrawn

            if isinstance(err, Withdrawn):  # its batch stopped before it was sent (again): nothing happened
                self.spending.release(held)
                raise
            self.spending.settle(held, req["model"], error=True)
            self._record(req, error=f"{type(err).__name__}: {err}", secret=key, offline=offline)
            raise
        except BaseException:  # an interrupt (or a bug): the reservation must not outlive the request
            self.spending.settle(held, req["model"], error=True)
            raise
        from ..display.response import LlamaResponse, Usage  # dataclasses cost import time: built at the first answer

        usage = Usage.from_dict(reply.usage)
        notes = list(reply.notes)
        if model_info(req["model"]) is None:
            self._note_once(
                f"model:{req['model']}",
                f"{req['model']} is not in the model table: its price and limits are unknown "
                "(%llama_models lists the known ones).",
            )
        response = LlamaResponse(
            text=reply.text,
            model=req["model"],
            params=req["params"],
            messages=req["messages"],
            usage=usage,
            cost=cost(req["model"], usage and usage.prompt_tokens, usage and usage.completion_tokens),
            elapsed=reply.elapsed,
            offline=offline,
            raw=reply.raw,
            format=eff["format"],
            notes=notes,
        )
        self.spending.settle(held, req["model"], usage, response.cost)
        return self._finish(req, response, secret=key)

    # --- cache, log and conversation ---------------------------------------------------------
    def exchange_log(self) -> ExchangeLog:
        """The log at the current ``log_path()`` (DATAOORTS_MAGIC_HOME is read at call time)."""
        from .log import ExchangeLog, log_path  # sqlite3 and hashlib only once a request is made

        path = log_path()
        if self._log is None or self._log.path != path:
            if self._log is not None:
                self._log.close()
            self._log = ExchangeLog(path)
        return self._log

    @property
    def rate_limiter(self) -> RateLimiter:
        """The one limiter every request of this session waits on (built at the first request)."""
        with _client_lock:
            if self._limiter is None:
                from .rate_limit import RateLimiter

                self._limiter = RateLimiter()
        return self._limiter

    def _from_cache(self, req: dict, on_text=None) -> LlamaResponse | None:
        """The recorded answer to an identical request (cache=on/replay), or None to send it."""
        if req["settings"]["cache"] == "off":
            return None
        from .cache import recorded_answer

        hit = recorded_answer(self.exchange_log(), req, self._note_once)
        if hit is not None:
            if on_text is not None:
                on_text(hit.text)
            self.spending.settle(0.0, req["model"], cached=True)
        return hit

    def _finish(self, req: dict, response: LlamaResponse, secret: Secret | None = None) -> LlamaResponse:
        """Log the exchange, add the conversation turn, note trimmed turns; returns the response."""
        if req["dropped"]:
            n = req["dropped"]
            what = "the oldest turn" if n == 1 else f"{n} oldest turns"
            response.notes.append(f"dropped {what} to fit the {req['window']:,}-token window")
        self._record(req, response, secret=secret, offline=response.offline)
        if req["chat"] is not None:
            self.conversations.get(req["chat"]).add(req["prompt"], response, req["system"], req["dropped"])
        return response

    def _record(
        self,
        req: dict,
        response: LlamaResponse | None = None,
        *,
        error: str | None = None,
        secret: Secret | None = None,
        offline: bool = False,
    ) -> None:
        """Write one row to the log; a log that cannot be written warns once and costs nothing else."""
        if not req["settings"]["log"]:
            return
        book = self.exchange_log()
        try:
            book.record(
                model=req["model"],
                messages=req["messages"],
                params=req["params"],
                answer=response and response.text,
                usage=response and response.usage,
                cost=response and response.cost,
                elapsed=response and response.elapsed,
                error=error,
                cached=bool(response and response.cached),
                offline=offline,
                conversation=req["chat"],
                session=self.id,
                secret=secret,
                batch_run=req.get("batch_run"),
            )
        except LogError as err:
            self._note_once(
                f"log:{book.path}", f"{err}; answers are shown but not logged (%llama_config log=off silences this)."
            )

    def _endpoint(self, eff: dict) -> tuple[str, Secret, bool]:
        """(url, key, offline): the bundled endpoint when offline, else the configured one and the key."""
        if eff["offline"]:
            from ..offline.server import start_offline

            url, key = start_offline()
            return url, Secret(key), True
        key = settings_mod.read_key(self._key, url=eff["api_url"])
        if not key:
            raise MissingKeyError()
        from ..api.endpoint_url import insecure_endpoint_warning, url_problem

        if (problem := url_problem(eff["api_url"])) is not None:
            raise ConfigError(
                f"The endpoint {eff['api_url']!r} is not usable: it {problem}",
                fix=f"Set DATAOORTS_API_URL (or %llama_config api_url=...) to {settings_mod.DEFAULT_API_URL} "
                "or your endpoint.",
            )

        warning = insecure_endpoint_warning(eff["api_url"])
        if warning:
            self._note_once(f"url:{eff['api_url']}", warning)
        return eff["api_url"], key, False

    def _client_for(self, url: str):
        with _client_lock:  # --over sends from several threads: they must share one client and pool
            if self._client is None:
                from ..api.client import DataoortsClient

                self._client = DataoortsClient(url, pool_maxsize=settings_mod.MAX_CONCURRENCY)
        self._client.api_url = url
        return self._client

    def _note_once(self, topic: str, line: str) -> None:
        """Print a warning line once per topic (to stderr, so it never mixes with answers)."""
        if topic in self._warned:
            return
        self._warned.add(topic)
        print(f"Note: {line}", file=self._stderr or sys.stderr)

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
        if self._client is not None:
            self._client.close()
            self._client = None
