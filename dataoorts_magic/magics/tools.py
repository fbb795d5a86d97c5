"""The magics around ``%%llama``: the key, settings, models, conversations, usage, explain, the panel.

``LlamaToolMagics`` shares the settings and the session of ``LlamaMagics`` (its ``core``), so
``%llama_config`` and ``%config LlamaMagics`` change the same traits.
"""

from __future__ import annotations

import shlex

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ..params import PARAMS, model_info, models
from ..pipeline.settings import SETTING_NAMES, parse_assignment, read_key
from . import explain
from .usage_errors import one_line_errors

# What an unset setting means: only the sampling parameters fall back to the server.
UNSET = {"system": "none", "budget": "no cap"}


def _unset_label(name: str) -> str:
    if name in UNSET:
        return UNSET[name]
    default = PARAMS[name].default if name in PARAMS else None
    return "server default" if default is None else f"server default ({default:g})"


def _endpoint_row(settings: dict) -> list:
    """The endpoint requests go to now: with offline on, the bundled one on loopback, not api_url."""
    if not settings["offline"][0]:
        return ["endpoint in use", settings["api_url"][0], "api_url"]
    from ..offline.server import offline_server

    running = offline_server()
    where = running.url if running else "bundled offline endpoint (started on first request)"
    return ["endpoint in use", where, f"offline ({settings['offline'][1]}); api_url is not used"]


@magics_class
class LlamaToolMagics(Magics):
    """``%llama_key``, ``%llama_config``, ``%llama_models``, ``%llama_history``, ``%llama_usage``,
    ``%llama_explain`` and ``%llama_panel``."""

    def __init__(self, shell=None, core=None):
        super().__init__(shell=shell)
        self.core = core
        self.last_error = explain.ErrorRecorder()  # for %llama_explain; never changes error display
        if shell is not None:
            self.last_error.register(shell)

    @property
    def llama_session(self):
        return self.core.llama_session

    def close(self) -> None:
        self.last_error.unregister(self.shell)

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
        summary = ", ".join(f"{k}={'unset' if v is None else v!r}" for k, v in changes.items())
        print(f"Session settings: {summary}")

    def _config_table(self):
        rows = []
        settings = self.llama_session.resolve()
        for name, (value, source) in settings.items():
            rows.append([name, _unset_label(name) if value is None else repr(value), source])
            if name == "api_url":
                rows.append(_endpoint_row(settings))
        rows.append(
            ["api key", "set" if self.llama_session.key_is_set() else "not set", "%llama_key / DATAOORTS_API_KEY"]
        )
        from ..display.tables import Table  # html and the display layer load at first use

        return Table(
            ["setting", "value", "from"],
            rows,
            title="dataoorts-magic settings",
            note="Change with %llama_config name=value; --reset restores the defaults.",
        )

    @magic_arguments()
    @argument("name", nargs="?", default=None, help="the conversation (omit to list them all)")
    @argument("--clear", action="store_true", help="forget the conversation (all of them without NAME)")
    @argument(
        "--export",
        metavar="PATH",
        default=None,
        help="save the conversation: PATH.md a readable transcript, PATH.json messages, params and usage",
    )
    @line_magic
    def llama_history(self, line=""):
        """List the conversations of %%llama -c, show one as a transcript, export or clear it.

        In [1]: %llama_history
        In [2]: %llama_history tutor
        In [3]: %llama_history tutor --export tutor.md
        In [4]: %llama_history tutor --clear
        """
        from ..display import transcripts

        try:
            opts = self.llama_history.parser.parse_args(shlex.split(line))
        except ValueError:
            raise UsageError("Unbalanced quote in %llama_history: close the quote around the path.") from None
        chats = self.llama_session.conversations
        name = opts.name or ("default" if opts.export else None)
        conv = chats.find(name) if name else None
        if name and conv is None:
            known = ", ".join(chats.names()) or "none yet"
            raise UsageError(
                f"No conversation named {name!r} (conversations: {known}): start one with %%llama -c NAME."
            )
        if opts.export:
            with one_line_errors():
                path = transcripts.export(conv, opts.export)
            print(f"Conversation {name!r} ({len(conv.turns)} turns) written to {path}")
        if opts.clear:
            count = 1 if name else len(chats)
            chats.clear(name)
            print(f"Conversation {name!r} cleared." if name else f"Cleared {count} conversation(s).")
        if opts.export or opts.clear:
            return None
        from ..display.tables import conversation_table

        return transcripts.Transcript(conv) if conv else conversation_table(chats)

    @line_magic
    def llama_usage(self, line=""):
        """Requests, tokens and cost per model: this session, and all time from the log.

        In [1]: %llama_usage
        """
        from ..errors import LogError

        session = {model: vars(t) for model, t in self.llama_session.spending.rows().items()}
        book = self.llama_session.exchange_log()
        all_time, note = None, f"All time: from {book.path}."
        if not book.path.exists():
            note = f"All time: no log yet at {book.path}."
        else:
            try:
                all_time = book.usage()
            except LogError as err:
                note = f"All time: unavailable ({err})."
        if not self.llama_session.effective()["log"]:
            note += " Logging is off (log=off), so new exchanges are not added to it."
        from ..display.tables import usage_table

        return usage_table(session, all_time, note)

    @line_magic
    def llama_explain(self, line=""):
        """Ask the model to explain the last error of this session, for a learner, with a fix.

        In [1]: 1 / 0
        ZeroDivisionError: division by zero

        In [2]: %llama_explain

        Sends the exception, its message, the traceback and the failing cell's source. Paths
        are shortened first: a traceback's files by name (``helpers.py``; an installed package's
        from the package on, ``pandas/core/frame.py``; a cell as ``Cell In[3]``), and your home
        folder anywhere else as ``~``, so no home folder or user name is sent.
        """
        err = self.last_error.last or explain.from_sys()
        if err is None:
            print("No error yet in this session: run the cell that fails, then %llama_explain.")
            return
        prompt = explain.build_prompt(err, read_key(self.llama_session._key))
        with one_line_errors():
            session = self.llama_session
            response = session.send(session.request(prompt, {"system": explain.SYSTEM, "format": "markdown"}))
        display(response)

    @line_magic
    def llama_models(self, line=""):
        """List the Dataoorts text models with their prices (USD per million tokens) and context windows."""
        current = self.llama_session.effective()["model"]
        rows = [
            [
                ("▶ " if name == current else "") + name,
                f"{m.input_usd_per_mtok:.2f}",
                f"{m.output_usd_per_mtok:.2f}",
                f"{m.context_window:,}",
            ]
            for name, m in models().items()
        ]
        note = (
            "" if model_info(current) else f"The current model {current} is not in the table: price and limits unknown."
        )
        from ..display.tables import Table

        return Table(
            ["model", "input $/M tokens", "output $/M tokens", "context window"],
            rows,
            title="Dataoorts text models",
            note=note,
        )

    @line_magic
    def llama_panel(self, line=""):
        """Open the widget panel: prompt, system prompt, model, every parameter, Send and the transcript.

        In [1]: %llama_panel

        Requests run off the kernel's main thread, so other cells still run. "Copy as %%llama"
        writes the equivalent cell. Below the panel, a plain copy of its transcript is kept up
        to date, so a saved notebook shows it even without widget state.
        ``dataoorts_magic.panel()`` returns the same panel from Python. Terminal IPython cannot
        show widgets: there both say so in one line and point to %%llama.
        """
        if line.strip():
            raise UsageError("%llama_panel takes no options: set defaults with %llama_config, then open it.")
        from ..widgets.panel import build_panel  # ipywidgets is imported only when a panel opens

        display(build_panel(self.llama_session, self.shell))  # the panel also shows its static transcript
