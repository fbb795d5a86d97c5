"""The one request pipeline: effective settings -> validation -> endpoint and key -> HTTP -> LlamaResponse.

Every front door (``%%llama``, the panel, ``--over``, ``--compare``) calls
``LlamaSession.ask`` and none talks to the HTTP client directly, so a fix lands once.
"""
from __future__ import annotations

import sys

from . import settings as settings_mod
from .errors import ValidationError, MissingKeyError
from .params import PARAMS, cost, model_info, validate
from .response import LlamaResponse, Usage


class _Secret(str):
    """A str that never shows itself in a repr (the key kept by ``%llama_key``)."""

    def __repr__(self):
        return "'***'"


class LlamaSession:
    """Holds what lives for the kernel's lifetime: the typed key, the HTTP client, one-time notes."""

    def __init__(self, settings: settings_mod.LlamaSettings, stderr=None):
        self.settings = settings
        self.session_set: set[str] = set()
        self._key: _Secret | None = None
        self._client = None
        self._warned: set[str] = set()
        self._stderr = stderr

    def __repr__(self):
        return f"<LlamaSession key={'set' if self.key_is_set() else 'not set'}>"

    # --- settings -------------------------------------------------------------------------
    def set_key(self, key: str | None) -> None:
        self._key = _Secret(key.strip()) if key and key.strip() else None

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

    # --- the pipeline ---------------------------------------------------------------------
    def request(self, prompt: str, flags: dict | None = None) -> dict:
        """Everything needed to send, checked: model, messages, params, format. Nothing is sent."""
        eff = self.effective(flags)
        model = eff["model"]
        if not prompt or not prompt.strip():
            raise ValidationError("The prompt is empty: write it in the cell body below %%llama "
                                  "(or after %llama on the same line).")
        params = validate({name: eff[name] for name in PARAMS}, model)
        messages = []
        if eff["system"]:
            messages.append({"role": "system", "content": eff["system"]})
        messages.append({"role": "user", "content": prompt})
        return {"model": model, "messages": messages, "params": params, "settings": eff}

    def ask(self, prompt: str, flags: dict | None = None) -> LlamaResponse:
        """Send one prompt and return the answer; raises a ``LlamaError`` with a one-line message."""
        req = self.request(prompt, flags)
        return self.send(req)

    def send(self, req: dict) -> LlamaResponse:
        eff = req["settings"]
        url, key, offline = self._endpoint(eff)
        client = self._client_for(url)
        reply = client.chat(req["model"], req["messages"], req["params"], api_key=key,
                            timeout=eff["timeout"], connect_timeout=eff["connect_timeout"],
                            max_retries=eff["max_retries"])
        usage = Usage.from_dict(reply.usage)
        notes = list(reply.notes)
        if model_info(req["model"]) is None:
            self._note_once(f"model:{req['model']}",
                            f"{req['model']} is not in the model table: its price and limits are unknown "
                            "(%llama_models lists the known ones).")
        return LlamaResponse(
            text=reply.text, model=req["model"], params=req["params"], messages=req["messages"],
            usage=usage, cost=cost(req["model"], usage and usage.prompt_tokens, usage and usage.completion_tokens),
            elapsed=reply.elapsed, offline=offline, raw=reply.raw, format=eff["format"], notes=notes,
        )

    def _endpoint(self, eff: dict) -> tuple[str, str, bool]:
        """(url, key, offline): the bundled endpoint when offline, else the configured one and the key."""
        if eff["offline"]:
            from .emulator import start_offline

            url, key = start_offline()
            return url, key, True
        key = settings_mod.read_key(self._key)
        if not key:
            raise MissingKeyError()
        from .client import insecure_endpoint_warning

        warning = insecure_endpoint_warning(eff["api_url"])
        if warning:
            self._note_once(f"url:{eff['api_url']}", warning)
        return eff["api_url"], key, False

    def _client_for(self, url: str):
        if self._client is None:
            from .client import DataoortsClient

            self._client = DataoortsClient(url)
        self._client.api_url = url
        return self._client

    def _note_once(self, topic: str, line: str) -> None:
        """Print a warning line once per topic (to stderr, so it never mixes with answers)."""
        if topic in self._warned:
            return
        self._warned.add(topic)
        print(f"Note: {line}", file=self._stderr or sys.stderr)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
