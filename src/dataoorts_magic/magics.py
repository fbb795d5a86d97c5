"""``LlamaMagics``: the settings traits and thin magics (parse -> session -> display).

Every failure the package raises is turned into one ``UsageError`` line here, at the
boundary, so a cell fails cleanly with no traceback and "Run All" stops at it.
"""
from __future__ import annotations

import functools
import getpass
import shlex
from contextlib import contextmanager

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from . import explain, history, parse, streaming
from .errors import LlamaError
from .interpolate import interpolate
from .log import LogError
from .params import PARAMS, model_info, models
from .session import LlamaSession
from .settings import FORMATS, SETTING_NAMES, LlamaSettings, parse_assignment, read_key
from .views import Table


def _param_arguments(func):
    """One ``--flag`` per row of the parameter table (values are validated later, with the model's ranges)."""
    for p in reversed(PARAMS.values()):
        kind = "N" if p.type is int else "F"
        func = argument(*p.flags, dest=p.name, metavar=kind, default=None,
                        help=f"{p.help} ({p.min:g}..{p.max:g})")(func)
    return func


@contextmanager
def _one_line_errors():
    """Turn the package's errors into the one-line UsageError IPython shows without a traceback."""
    try:
        yield
    except LlamaError as err:
        raise UsageError(str(err)) from None


@magics_class
class LlamaMagics(Magics, LlamaSettings):
    """Magics for the Dataoorts serverless Llama API; every setting is a configurable trait."""

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self.llama_session = LlamaSession(self)
        self.last_error = explain.ErrorRecorder()  # for %llama_explain; never changes error display
        if shell is not None:
            self.last_error.register(shell)

    @no_var_expand
    @magic_arguments()
    @argument("-s", "--system", default=None, help="system prompt ({name} fields are filled in)")
    @argument("-m", "--model", default=None, help="model name (see %%llama_models)")
    @_param_arguments
    @argument("-o", "--out", default=None, metavar="VAR", help="store the result in the variable VAR")
    @argument("-f", "--format", default=None, choices=FORMATS,
              help="markdown (default), text (verbatim), code (first code block; --out gets its source), "
                   "json (the answer parsed; --out gets the object)")
    @argument("-q", "--quiet", action="store_true", help="show nothing (use with --out)")
    @argument("--raw", action="store_true", help="send the text as typed: no {name} interpolation")
    @argument("-c", "--chat", nargs="?", const="default", default=None, metavar="NAME",
              help="continue conversation NAME (default 'default'): its system prompt and earlier turns are "
                   "sent, oldest dropped to fit the context window; %%llama_history shows it")
    @argument("--no-cache", action="store_true",
              help="skip the response cache for this cell (with cache=on or replay): always ask the endpoint")
    @argument("--over", default=None, metavar="VAR",
              help="batch: one request per item of VAR (a list or other iterable, a pandas Series, or a "
                   "DataFrame's rows); the prompt uses {item} (or a row's {column}); -o gets a BatchResult")
    @argument("-j", "--concurrency", type=int, default=None, metavar="N",
              help="requests in flight for --over and --compare (1..64; default: the concurrency setting, 4)")
    @argument("--compare", default=None, metavar="PARAM=V1,V2,...",
              help="the prompt once per value of PARAM (model or any parameter, e.g. temperature=0,0.7,1.5), "
                   "answers side by side; -o gets the list")
    @argument("--stream", action="store_true", default=None,
              help="show the answer as it arrives (also the stream setting); a whole answer is shown as usual")
    @line_cell_magic
    def llama(self, line, cell=None):
        """Ask the Llama model; the cell body (or the rest of the line) is the user message.

        In [1]: %%llama -t 0.2 -s "You are a patient teacher."
           ...: Explain {topic} in three bullet points.

        In [2]: %llama -n 64 What is a p-value?

        In [3]: %%llama -c tutor
           ...: And how would I test that in Python?

        In [4]: %%llama --over titles -j 8 -o summaries
           ...: Summarize in one line: {item}

        ``{name}`` is replaced by the value of the variable ``name`` (also ``{name.attr}``,
        ``{name[0]}``); braces that do not resolve are left as typed, ``{{``/``}}`` are
        literal braces. Options after the prompt are part of the prompt; use ``--`` to end
        the options explicitly.
        """
        argv, rest = parse.split_line(line, self.llama.parser, cell_mode=cell is not None)
        opts = self.llama.parser.parse_args(argv)
        prompt = (cell if cell is not None else rest).rstrip().lstrip("\n")
        if opts.out is not None and not parse.is_identifier(opts.out):
            raise UsageError(f"--out {opts.out!r} is not a variable name: use a name like answer or r1.")
        if opts.quiet and not opts.out:
            raise UsageError("-q shows nothing, so the answer would be lost: add -o VAR to keep it.")
        system = opts.system
        if not opts.raw and opts.over is None:  # --over fills {item} per item
            namespace = self.shell.user_ns
            prompt = interpolate(prompt, namespace)
            system = interpolate(system, namespace) if system is not None else None
        flags = {name: getattr(opts, name) for name in PARAMS}
        flags.update(model=opts.model, system=system, format=opts.format, no_cache=opts.no_cache)
        flags.update(stream=opts.stream, concurrency=opts.concurrency)
        if opts.over is not None or opts.compare is not None:
            return self._many(prompt, flags, opts)
        if opts.concurrency is not None:
            raise UsageError("-j sets the requests in flight for --over and --compare; this cell sends one request.")
        view = self._live_view(flags, opts)
        with _one_line_errors():
            ask = functools.partial(self.llama_session.ask, prompt, flags, chat=opts.chat)
            response = streaming.watch(ask, view) if view else ask()
        self._show(response, opts, show=view.finish if view else display)

    def _live_view(self, flags, opts):
        """The in-place display of --stream (or the stream setting), or None."""
        eff = self.llama_session.effective(flags)
        if opts.quiet or not eff["stream"]:
            return None
        return streaming.LiveAnswer(eff["format"], terminal=streaming.is_terminal(self.shell))

    def _many(self, prompt, flags, opts):
        """--over and --compare: many requests, -j at a time; OUT keeps what finished, even if interrupted."""
        from . import batch, compare, progress, runner

        if opts.over is not None and opts.compare is not None:
            raise UsageError("--over and --compare cannot be combined: use one per cell.")
        for name, given in (("--chat", opts.chat), ("--stream", opts.stream)):
            if given:
                raise UsageError(f"{name} applies to a single request, not to --over or --compare: drop {name}.")
        session = self.llama_session
        with _one_line_errors():
            jobs = batch.check_concurrency(session.effective(flags)["concurrency"])
            if opts.over is not None:
                prepared = batch.prepare(session, prompt, flags, opts.over, self.shell.user_ns, raw=opts.raw)
                shown = value = run = batch.run(session, prepared, jobs, progress.for_shell(self.shell, opts.quiet))
            else:
                shown, run = compare.run(session, compare.prepare(session, prompt, flags, opts.compare), jobs)
                value = run.results
        if opts.out:
            self.shell.user_ns[opts.out] = value
        if not opts.quiet:
            display(shown)
        failure = runner.verdict(run, "batch" if opts.over is not None else "comparison", opts.out)
        if failure:
            raise UsageError(failure)

    def _show(self, response, opts, show=display):
        try:
            value = response.value
        except ValueError as err:
            response.format = "text"
            if opts.out:
                self.shell.user_ns[opts.out] = response
            show(response)
            kept = f" {opts.out} holds the answer." if opts.out else ""
            raise UsageError(f"The answer is not valid JSON ({err}); it is shown above as text.{kept} "
                             "Ask for JSON only, or use -f text.") from None
        if opts.out:
            self.shell.user_ns[opts.out] = value
        if not opts.quiet:
            show(response)

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
            raise UsageError("%llama_key takes no key on the line (it would be saved in the notebook): "
                             "run %llama_key alone and type it at the hidden prompt.")
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
        In [4]: %llama_config --reset

        Precedence: cell flags > these session settings (and %config) > environment > defaults.
        ``name=none`` unsets a setting.
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
                raise UsageError(f"Expected name=value, got {word!r}: e.g. %llama_config temperature=0.2 "
                                 f"(settings: {', '.join(SETTING_NAMES)}).")
            with _one_line_errors():
                changes[name.strip()] = parse_assignment(name.strip(), text)
        if not changes:
            return self._config_table()
        with _one_line_errors():
            self.llama_session.configure(changes)
        summary = ", ".join(f"{k}={'unset' if v is None else v!r}" for k, v in changes.items())
        print(f"Session settings: {summary}")

    def _config_table(self):
        rows = []
        for name, (value, source) in self.llama_session.resolve().items():
            rows.append([name, "server default" if value is None else repr(value), source])
        rows.append(["api key", "set" if self.llama_session.key_is_set() else "not set",
                     "%llama_key / DATAOORTS_API_KEY"])
        return Table(["setting", "value", "from"], rows, title="dataoorts-magic settings",
                     note="Change with %llama_config name=value; --reset restores the defaults.")

    @magic_arguments()
    @argument("name", nargs="?", default=None, help="the conversation (omit to list them all)")
    @argument("--clear", action="store_true", help="forget the conversation (all of them without NAME)")
    @argument("--export", metavar="PATH", default=None,
              help="save the conversation: PATH.md a readable transcript, PATH.json messages, params and usage")
    @line_magic
    def llama_history(self, line=""):
        """List the conversations of %%llama -c, show one as a transcript, export or clear it.

        In [1]: %llama_history
        In [2]: %llama_history tutor
        In [3]: %llama_history tutor --export tutor.md
        In [4]: %llama_history tutor --clear
        """
        try:
            opts = self.llama_history.parser.parse_args(shlex.split(line))
        except ValueError:
            raise UsageError("Unbalanced quote in %llama_history: close the quote around the path.") from None
        chats = self.llama_session.conversations
        name = opts.name or ("default" if opts.export else None)
        conv = chats.find(name) if name else None
        if name and conv is None:
            known = ", ".join(chats.names()) or "none yet"
            raise UsageError(f"No conversation named {name!r} (conversations: {known}): "
                             "start one with %%llama -c NAME.")
        if opts.export:
            with _one_line_errors():
                path = history.export(conv, opts.export)
            print(f"Conversation {name!r} ({len(conv.turns)} turns) written to {path}")
        if opts.clear:
            count = 1 if name else len(chats)
            chats.clear(name)
            print(f"Conversation {name!r} cleared." if name else f"Cleared {count} conversation(s).")
        if opts.export or opts.clear:
            return None
        return history.Transcript(conv) if conv else history.conversation_table(chats)

    @line_magic
    def llama_usage(self, line=""):
        """Requests, tokens and cost per model: this session, and all time from the log.

        In [1]: %llama_usage
        """
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
        return history.usage_table(session, all_time, note)

    @line_magic
    def llama_explain(self, line=""):
        """Ask the model to explain the last error of this session, for a learner, with a fix.

        In [1]: 1 / 0
        ZeroDivisionError: division by zero

        In [2]: %llama_explain

        Sends the exception, its message, the traceback and the failing cell's source.
        """
        err = self.last_error.last or explain.from_sys()
        if err is None:
            print("No error yet in this session: run the cell that fails, then %llama_explain.")
            return
        prompt = explain.build_prompt(err, read_key(self.llama_session._key))
        with _one_line_errors():
            response = self.llama_session.ask(prompt, {"system": explain.SYSTEM, "format": "markdown"})
        display(response)

    @line_magic
    def llama_models(self, line=""):
        """List the Dataoorts text models with their prices (USD per million tokens) and context windows."""
        current = self.llama_session.effective()["model"]
        rows = [[("▶ " if name == current else "") + name, f"{m.input_usd_per_mtok:.2f}",
                 f"{m.output_usd_per_mtok:.2f}", f"{m.context_window:,}"]
                for name, m in models().items()]
        note = "" if model_info(current) else f"The current model {current} is not in the table: price and limits unknown."
        return Table(["model", "input $/M tokens", "output $/M tokens", "context window"], rows,
                     title="Dataoorts text models", note=note)

    @line_magic
    def llama_panel(self, line=""):
        """Open the widget panel: prompt, system prompt, model, every parameter, Send and the transcript.

        In [1]: %llama_panel

        Requests run off the kernel's main thread, so other cells still run. "Copy as %%llama"
        writes the equivalent cell. Below the panel, a plain copy of its transcript is kept up
        to date, so a saved notebook shows it even without widget state.
        ``dataoorts_magic.panel()`` returns the same panel from Python.
        """
        if line.strip():
            raise UsageError("%llama_panel takes no options: set defaults with %llama_config, then open it.")
        from .panel_widgets import build_panel  # ipywidgets is imported only when a panel opens

        display(build_panel(self.llama_session, self.shell))  # the panel also shows its static transcript


def load(ipython) -> None:
    """Register the magics (``Magics.__init__`` already makes them reachable by %config)."""
    ipython.register_magics(LlamaMagics(shell=ipython))


def unload(ipython) -> None:
    """Remove what ``load`` registered, so %reload_ext leaves no duplicates."""
    manager = ipython.magics_manager
    mine = manager.registry.pop("LlamaMagics", None)
    for kind, table in manager.magics.items():
        for name in [n for n, fn in table.items() if getattr(fn, "__self__", None) is mine]:
            del table[name]
    ipython.configurables[:] = [c for c in ipython.configurables if c is not mine]
    if mine is not None:
        mine.llama_session.close()
        mine.last_error.unregister(ipython)
