"""``%llama_key`` and ``%llama_config``: the key (hidden prompt, memory only) and the session defaults."""

from __future__ import annotations

import os
import shlex

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class

from ..params import PARAMS
from ..pipeline.settings import SETTING_NAMES, parse_assignment
from .topic import TopicMagics
from .usage_errors import one_line_errors

# What an unset setting means: only the sampling parameters fall back to the server.
UNSET = {"system": "none", "budget": "no cap"}


def _unset_label(name: str) -> str:
    """What applies when ``name`` is unset: every parameter says the server's default, with its value
    where the provider documents one."""
    if name in UNSET:
        return UNSET[name]
    default = PARAMS[name].default if name in PARAMS else None
    return "server default (not documented)" if default is None else f"server default ({default:g})"


def shown(name: str, value) -> str:
    """A setting's value as the table and the echo show it: plain text (no Python quotes), on/off, numbers
    as typed, and what applies when it is unset."""
    if value is None:
        return _unset_label(name)
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _endpoint_row(settings: dict) -> list:
    """The endpoint requests go to now: with offline on, the bundled one on loopback, not api_url."""
    if not settings["offline"][0]:
        return ["endpoint in use", settings["api_url"][0], "api_url"]
    from ..offline.server import offline_server

    running = offline_server()
    where = running.url if running else "bundled offline endpoint (started on first request)"
    return ["endpoint in use", where, f"offline ({settings['offline'][1]}); api_url is not used"]


@magics_class
class LlamaSettingsMagics(TopicMagics):
    """``%llama_key`` and ``%llama_config``."""

    @line_magic
    def llama_key(self, line=""):
        """Ask for the Dataoorts API key with a hidden prompt and keep it in memory only.

        In [1]: %llama_key
        Dataoorts API key: ········

        ``%llama_key --clear`` forgets it. The key is never shown, logged or saved.
        """
        if line.strip() == "--clear":
            self.llama_session.set_key(None)
            print("API key cleared from this session.")
            return
        if line.strip():
            raise UsageError(
                "%llama_key takes no key on the line (it would be saved in the notebook): "
                "run %llama_key alone and type it at the hidden prompt."
            )
        import getpass

        key = getpass.getpass("Dataoorts API key: ")
        if not key.strip():
            raise UsageError("No key was entered: run %llama_key again and paste your key.")
        self.llama_session.set_key(key)
        print("API key set for this session (kept in memory only).")

    @line_magic
    def llama_config(self, line=""):
        """Show or set the session defaults.

        In [1]: %llama_config
        In [2]: %llama_config temperature=0.2 max_tokens=256 system="You are terse."
        In [3]: %llama_config --offline
        In [4]: %llama_config rate_limit=600   # requests per minute for the whole session; 0 = no cap
        In [5]: %llama_config --reset

        Precedence: cell flags > these session settings (and %config) > environment > defaults.
        ``name=none`` unsets a setting. ``timeout`` bounds each request whole, from sending to the
        last byte of the answer (a stream's too; keep-alive comments do not extend it).
        ``%config LlamaMagics`` shows every setting's help.
        """
        try:
            words = shlex.split(line)
        except ValueError:
            raise UsageError("Unbalanced quote in %llama_config: close the quote around the value.") from None
        if "--reset" in words:
            self.llama_session.reset()
            words.remove("--reset")
            if not words:
                print("Settings restored to their defaults.")
                return
        changes = {}
        for word in words:
            if word in ("--offline", "--online"):
                changes["offline"] = word == "--offline"
                continue
            name, eq, text = word.partition("=")
            if not eq:
                raise UsageError(
                    f"Expected name=value, got {word!r}: e.g. %llama_config temperature=0.2 "
                    f"(settings: {', '.join(SETTING_NAMES)})."
                )
            with one_line_errors():
                changes[name.strip()] = parse_assignment(name.strip(), text)
        if not changes:
            return self._config_table()
        with one_line_errors():
            self.llama_session.configure(changes)
        summary = " · ".join(f"{k}: {shown(k, v)}" for k, v in changes.items())  # as the table says them
        print(f"Session settings: {summary}")

    def _config_table(self):
        rows = []
        settings = self.llama_session.resolve()
        for name, (value, source) in settings.items():
            rows.append([name, shown(name, value), source])
            if name == "api_url":
                rows.append(_endpoint_row(settings))
        rows.append(_key_row(self.llama_session.key_source(settings["api_url"][0])))
        from ..display.tables import Table  # html and the display layer load at first use

        return Table(
            ["setting", "value", "from"],
            rows,
            title="dataoorts-magic settings",
            note="Change with %llama_config name=value; --reset restores the defaults.",
        )


def _key_row(source: str | None) -> list[str]:
    """The key's row: whether a request would have one, and from where (never the key itself)."""
    if source == "hub":  # on JupyterHub, for a class gateway run as the Hub's service
        return ["api key", "set (JupyterHub token, for the hub's gateway)", "JUPYTERHUB_API_TOKEN"]
    where = {"typed": "%llama_key", "environment": "DATAOORTS_API_KEY"}.get(
        source or "", "%llama_key / DATAOORTS_API_KEY"
    )
    if source is None and os.environ.get("JUPYTERHUB_API_TOKEN"):
        return ["api key", "not set (the JupyterHub token goes only to the hub's own address)", where]
    return ["api key", "set" if source else "not set", where]
