"""The one request pipeline: a checked :class:`~.request.Request` in, a ``LlamaResponse`` out.

Every front door (``%%llama``, the panel, ``--over``, ``--compare``, ``ask``, ``ask_each``)
builds its request with :meth:`LlamaSession.request` and sends it with :meth:`LlamaSession.send`,
and none talks to the HTTP client directly, so a fix lands once. ``send`` owns the cache, the
budget, the one retry loop (:mod:`.retries`, every attempt paced by the session's one rate
limiter), the ``--schema`` re-ask (:mod:`.structured_reply`), the log and the conversation turn.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from typing import TYPE_CHECKING

from ..errors import LlamaError, LogError
from ..params import PARAMS, cost, model_info, validate
from ..secret import Secret
from . import settings as settings_mod
from .budget import Spending, worst_prompt_tokens
from .conversations import Conversations

if TYPE_CHECKING:  # imported at first use, to keep %load_ext light
    from ..client.chat_client import DataoortsClient
    from ..display.response import LlamaResponse
    from ..store.log import ExchangeLog
    from ..structured.schema import Schema
    from .rate_limit import RateLimiter
    from .request import Request

_client_lock = threading.Lock()


class LlamaSession:
    """Holds what lives for the kernel's lifetime: the typed key, the HTTP client, one-time notes."""

    def __init__(self, settings: settings_mod.LlamaSettings, stderr=None):
        self.settings = settings
        self.session_set: set[str] = set()
        self._key: Secret | None = None  # the one typed with %llama_key; it never shows itself
        self._client: DataoortsClient | None = None
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
        return self.key_source() is not None

    def key_source(self, url: str | None = None) -> str | None:
        """Where a request to ``url`` (default: the configured endpoint) takes its key from:
        "typed", "environment", "hub" (the JupyterHub token, on the Hub's origin only) or None."""
        return settings_mod.key_source(self._key, url or self.effective()["api_url"])

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
    def request(
        self, prompt: str, flags: dict | None = None, *, chat: str | None = None, schema: Schema | None = None
    ) -> Request:
        """The checked :class:`~.request.Request` for ``prompt`` under this cell's ``flags``; nothing is sent.

        Every door builds its requests here. ``chat`` names a conversation: its system prompt and
        earlier turns come first, trimmed to the model's context window; ``schema`` asks for one
        object of it; ``flags["no_cache"]`` (``--no-cache``) turns the cache off.
        """
        flags = dict(flags or {})
        if flags.pop("no_cache", False):
            flags["cache"] = "off"
        from .request import build_request

        return build_request(prompt, flags, self.effective(flags), self.conversations, chat=chat, schema=schema)

    def send(self, request: Request, *, on_text=None, control=None) -> LlamaResponse:
        """The one send: cache, budget, rate limit and retries, the HTTP exchange, the ``--schema``
        parse and re-ask, the log, and the conversation turn (added here and nowhere else).

        ``on_text(piece)`` gets a streamed answer's pieces; ``control`` is what a batch hands each
        request (see :mod:`.retries`). Raises a ``LlamaError`` with a one-line message; a failed
        turn adds nothing to the conversation.
        """
        if request.schema is None:
            response = self._exchange(request, on_text, control)
        else:
            from .structured_reply import structured_answer

            response = structured_answer(lambda req: self._exchange(req, None, control), request)
        if request.dropped:
            n = request.dropped
            what = "the oldest turn" if n == 1 else f"{n} oldest turns"
            response.notes.append(f"dropped {what} to fit the {request.window:,}-token window")
        if request.chat is not None:
            self.conversations.get(request.chat).add(request.prompt, response, request.system, request.dropped)
        return response

    def _exchange(self, req: Request, on_text, control) -> LlamaResponse:
        """One logged exchange: the cache, else the budget's reservation and the HTTP call with its retries."""
        eff = req.settings
        hit = self._from_cache(req, on_text)
        if hit is not None:
            self._record(req, hit, offline=hit.offline)
            return hit
        from .endpoint import endpoint

        url, key, offline = endpoint(eff, self._key, self._note_once)
        client = self._client_for(url)
        held = self.spending.reserve(
            req.model, worst_prompt_tokens(req.messages), req.params["max_tokens"], eff["budget"]
        )
        attempt = functools.partial(
            client.exchange_once,
            req.model,
            req.messages,
            req.params,
            api_key=key,
            timeout=eff["timeout"],
            connect_timeout=eff["connect_timeout"],
            stream=req.stream,
            on_text=on_text,
        )
        from ..client.retry_policy import RetryPolicy
        from .retries import send_with_retries

        try:
            reply = send_with_retries(
                attempt,
                self.rate_limiter,
                RetryPolicy(eff["max_retries"]),
                per_minute=0 if offline else eff["rate_limit"],  # the bundled endpoint is not paced
                control=control,
            )
        except LlamaError as err:
            from .rate_limit import Withdrawn

            if isinstance(err, Withdrawn):  # its batch stopped before it was sent (again): nothing happened
                self.spending.release(held)
                raise
            self.spending.settle(held, req.model, error=True)
            self._record(req, error=f"{type(err).__name__}: {err}", secret=key, offline=offline)
            raise
        except BaseException:  # an interrupt (or a bug): the reservation must not outlive the request
            self.spending.settle(held, req.model, error=True)
            raise
        response = self._response(req, reply, offline)
        self.spending.settle(held, req.model, response.usage, response.cost)
        self._record(req, response, secret=key, offline=offline)
        return response

    def _response(self, req: Request, reply, offline: bool) -> LlamaResponse:
        from ..display.response import LlamaResponse, Usage  # dataclasses cost import time: built at the first answer

        if model_info(req.model) is None:
            self._note_once(
                f"model:{req.model}",
                f"{req.model} is not in the model table: its price and limits are unknown "
                "(%llama_models lists the known ones).",
            )
        usage = Usage.from_dict(reply.usage)
        return LlamaResponse(
            text=reply.text,
            model=req.model,
            params=req.params,
            messages=list(req.messages),
            usage=usage,
            cost=cost(req.model, usage.prompt_tokens, usage.completion_tokens) if usage else None,
            elapsed=reply.elapsed,
            offline=offline,
            raw=reply.raw,
            format=req.format,
            notes=list(reply.notes),
            budget=reply.budget,
        )

    # --- cache, log and conversation ---------------------------------------------------------
    def exchange_log(self) -> ExchangeLog:
        """The log at the current ``log_path()`` (DATAOORTS_MAGIC_HOME is read at call time)."""
        from ..store.log import ExchangeLog, log_path  # sqlite3 and hashlib only once a request is made

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

    def _from_cache(self, req: Request, on_text=None) -> LlamaResponse | None:
        """The recorded answer to an identical request (cache=on/replay), or None to send it."""
        if req.settings["cache"] == "off":
            return None
        from ..store.cache import recorded_answer

        hit = recorded_answer(self.exchange_log(), req, self._note_once)
        if hit is not None:
            if on_text is not None:
                on_text(hit.text)
            self.spending.settle(0.0, req.model, cached=True)
        return hit

    def _record(
        self,
        req: Request,
        response: LlamaResponse | None = None,
        *,
        error: str | None = None,
        secret: Secret | None = None,
        offline: bool = False,
    ) -> None:
        """Write one row to the log; a log that cannot be written warns once and costs nothing else."""
        if not req.settings["log"]:
            return
        book = self.exchange_log()
        try:
            book.record(
                model=req.model,
                messages=list(req.messages),
                params=req.params,
                answer=response.text if response else None,
                usage=response.usage if response else None,
                cost=response.cost if response else None,
                elapsed=response.elapsed if response else None,
                error=error,
                cached=bool(response and response.cached),
                offline=offline,
                conversation=req.chat,
                session=self.id,
                secret=secret,
                batch_run=req.batch_run,
            )
        except LogError as err:
            self._note_once(
                f"log:{book.path}", f"{err}; answers are shown but not logged (%llama_config log=off silences this)."
            )

    def _client_for(self, url: str):
        with _client_lock:  # --over sends from several threads: they must share one client and pool
            if self._client is None:
                from ..client.chat_client import DataoortsClient

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
