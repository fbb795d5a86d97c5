"""``LlamaMagics``: the settings traits and ``%%llama`` itself (parse -> session -> display).

The magics around it (key, settings, models, history, usage, explain, panel) live in one
module per topic (``settings_magics``, ...); ``extension`` registers them all. Every failure
the package raises is turned into one ``UsageError`` line at the boundary
(``usage_errors.one_line_errors``).
"""

from __future__ import annotations

import functools

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, argument_group, magic_arguments
from IPython.display import display

from ..errors import InvalidAnswerError, one_line
from ..params import PARAMS
from ..pipeline.session import LlamaSession
from ..pipeline.settings import FORMATS, LlamaSettings
from ..prompting.prompt_text import cell_prompt
from . import line_parser, notebook_prompt
from .usage_errors import one_line_errors


def _param_arguments(func):
    """One ``--flag`` per row of the parameter table (values are validated later, with the model's ranges)."""
    for p in reversed(PARAMS.values()):
        kind = "N" if p.type is int else "F"
        # Whole numbers print whole: seed's bound is 9999999999, which :g would write 1e+10.
        low, high = (f"{int(p.min)}", f"{int(p.max)}") if p.type is int else (f"{p.min:g}", f"{p.max:g}")
        func = argument(*p.flags, dest=p.name, metavar=kind, default=None, help=f"{p.help} ({low}..{high})")(func)
    return func


@magics_class
class LlamaMagics(Magics, LlamaSettings):
    """Magics for the Dataoorts serverless Llama API; every setting is a configurable trait."""

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self.llama_session = LlamaSession(self)

    @no_var_expand
    @magic_arguments()
    @argument_group("the request")
    @argument("-s", "--system", default=None, help="system prompt ({name} fields are filled in)")
    @argument("-m", "--model", default=None, help="model name (see %%llama_models)")
    @_param_arguments
    @argument_group("the answer")
    @argument("-o", "--out", default=None, metavar="VAR", help="store the result in the variable VAR")
    @argument(
        "-f",
        "--format",
        default=None,
        choices=FORMATS,
        help="markdown (default), text (verbatim), code (first code block, also put into a new cell below; "
        "--out gets its source), json (the answer parsed; --out gets the object)",
    )
    @argument("-q", "--quiet", action="store_true", help="show nothing (use with --out)")
    @argument(
        "--stream",
        action="store_true",
        default=None,
        help="show the answer as it arrives (also the stream setting); a whole answer is shown as usual",
    )
    @argument(
        "--schema",
        default=None,
        metavar="SPEC",
        help='structured answer: inline fields ("sentiment: positive|negative, stars: int, note: str?"; types '
        "str, int, float, bool, list[str], a|b|c, ? = optional) or the name of a variable holding a JSON Schema "
        "dict or a pydantic model class; the answer is validated (asked again once); -o gets the dict",
    )
    @argument_group("the prompt, the conversation, the cache")
    @argument("--raw", action="store_true", help="send the text as typed: no {name} interpolation")
    @argument(
        "-x",
        "--context",
        nargs="?",
        const=notebook_prompt.USE_SETTING,
        type=notebook_prompt.context_count,
        default=None,
        metavar="N",
        help="send the last N cells run (default: the context_cells setting, 3) before the prompt, oldest "
        "first: each one's source, result and error; the oldest are left out to fit the model's window",
    )
    @argument(
        "-c",
        "--chat",
        nargs="?",
        const="default",
        default=None,
        metavar="NAME",
        help="continue conversation NAME (default 'default'): its system prompt and earlier turns are "
        "sent, oldest dropped to fit the context window; %%llama_history shows it",
    )
    @argument(
        "--no-cache",
        action="store_true",
        help="skip the response cache for this cell (with cache=on or replay): always ask the endpoint",
    )
    @argument_group("many requests")
    @argument(
        "--over",
        default=None,
        metavar="VAR",
        help="batch: one request per item of VAR (a list or other iterable, a pandas Series, or a "
        "DataFrame's rows); the prompt uses {item} (or a row's {column}); -o gets a BatchResult",
    )
    @argument(
        "-j",
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        help="requests in flight for --over and --compare (1..64; default: the concurrency setting, 4)",
    )
    @argument(
        "--compare",
        default=None,
        metavar="PARAM=V1,V2,...",
        help="the prompt once per value of PARAM (model or any parameter, e.g. temperature=0,0.7,1.5), "
        "answers side by side; -o gets the list",
    )
    @argument(
        "-b",
        "--background",
        action="store_true",
        help="with --over or --compare: the cell returns at once and the batch runs in the background; "
        "-o VAR is bound at once and fills in (VAR.done, VAR.wait(), VAR.cancel(), VAR.error)",
    )
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

        In [5]: %%llama --over reviews --schema "sentiment: positive|negative, stars: int" -o labels
           ...: Label this review: {review}

        In [6]: %%llama --over reviews -b -o labels
           ...: Label the sentiment of: {item}

        In [7]: %%llama -x 2 -f code
           ...: Why did {In[-1]} fail? Fix it.

        ``{name}`` is replaced by the value of the variable ``name`` (also ``{name.attr}``,
        ``{name[0]}``); braces that do not resolve are left as typed, ``{{``/``}}`` are
        literal braces. ``{In[n]}``, ``{Out[n]}``, ``{Err[n]}`` are cell n's source, result
        and error (negative n counts back: ``{Err[-1]}`` is the previous cell's). Options
        after the prompt are part of the prompt; use ``--`` to end the options explicitly.
        """
        argv, rest = line_parser.split_line(line, self.llama.parser, cell_mode=cell is not None)
        opts = self.llama.parser.parse_args(argv)
        prompt = cell_prompt(cell if cell is not None else rest)
        if opts.out is not None and (problem := line_parser.out_name_problem(opts.out)):
            raise UsageError(problem)
        if opts.quiet and not opts.out:
            raise UsageError("-q shows nothing, so the answer would be lost: add -o VAR to keep it.")
        system, turn = opts.system, prompt
        if opts.over is None:  # --over fills {item} per item
            prompt, system, turn = notebook_prompt.fill(self, prompt, system, opts)  # {In[n]}..., then -x's cells
        notebook_prompt.check(opts)
        flags = {name: getattr(opts, name) for name in PARAMS}
        flags.update(model=opts.model, system=system, format=opts.format, no_cache=opts.no_cache)
        flags.update(stream=opts.stream, concurrency=opts.concurrency)
        schema = self._schema(opts)
        if opts.over is not None or opts.compare is not None:
            return self._many(prompt, flags, opts, schema)
        if opts.concurrency is not None:
            raise UsageError("-j sets the requests in flight for --over and --compare; this cell sends one request.")
        if opts.background:
            raise UsageError("-b runs --over or --compare in the background; this cell sends one request: drop -b.")
        with one_line_errors():
            req = self.llama_session.request(prompt, flags, chat=opts.chat, schema=schema)  # checked: nothing sent yet
            req = notebook_prompt.turn_without_context(req, turn)
            view = self._live_view(req, opts)
            send = functools.partial(self.llama_session.send, req)
            try:
                if view is None:
                    response = send()
                else:
                    from ..display.live_answer import watch

                    response = watch(send, view)
            except InvalidAnswerError as err:  # --schema: still no match after asking again
                self._keep_mismatch(err, opts)
        self._show(response, opts, show=view.finish if view else display)

    def _live_view(self, req, opts):
        """The in-place display of --stream (or the stream setting), or None."""
        if opts.quiet or not req.stream:
            return None
        from ..display import live_answer

        return live_answer.LiveAnswer(req.format, terminal=live_answer.is_terminal(self.shell))

    def _schema(self, opts):
        """The cell's ``--schema`` (None without one), read before anything is sent."""
        if opts.schema is None:
            return None
        for name, given in (("-f", opts.format), ("--stream", opts.stream)):
            if given:
                raise UsageError(
                    f"{name} does not apply with --schema: the answer is validated whole and shown as a table "
                    f"of its fields (-o gets the dict); drop {name}."
                )
        from ..structured.schema import resolve

        with one_line_errors():
            return resolve(opts.schema, self.shell.user_ns)

    def _keep_mismatch(self, err, opts):
        """A --schema answer that still does not match: shown as text and kept in OUT, then the one line."""
        response = err.response
        response.format = "text"
        if opts.out:
            self.shell.user_ns[opts.out] = response
        if not opts.quiet:
            display(response)
        kept = f"; {opts.out} holds it" if opts.out else ""
        raise UsageError(f"{one_line(err)} The last answer is shown above as text{kept}.")

    def _many(self, prompt, flags, opts, schema=None):
        """--over and --compare: many requests, -j at a time; OUT keeps what finished, even if interrupted."""
        from ..batch import background, compare, over, runner
        from ..display import progress

        if opts.over is not None and opts.compare is not None:
            raise UsageError("--over and --compare cannot be combined: use one per cell.")
        for name, given in (("--chat", opts.chat), ("--stream", opts.stream)):
            if given:
                raise UsageError(f"{name} applies to a single request, not to --over or --compare: drop {name}.")
        if opts.background and not opts.out:
            raise UsageError("-b returns before the answers arrive: add -o VAR to keep them (VAR.wait() waits).")
        session = self.llama_session
        with one_line_errors():
            jobs = over.check_concurrency(session.effective(flags)["concurrency"])
            if opts.over is not None:
                prepared = over.prepare(
                    session, prompt, flags, opts.over, self.shell.user_ns, raw=opts.raw, schema=schema
                )
                if opts.background:
                    self.shell.user_ns[opts.out] = background.run_over(
                        self.shell, session, prepared, jobs, fresh=opts.no_cache, quiet=opts.quiet, out=opts.out
                    )
                    return
                bar = progress.for_shell(self.shell, opts.quiet)
                shown = value = run = over.run(session, prepared, jobs, bar, fresh=opts.no_cache)
            else:
                plan = compare.prepare(session, prompt, flags, opts.compare, schema=schema)
                if opts.background:
                    self.shell.user_ns[opts.out] = background.run_compare(
                        self.shell, session, plan, jobs, quiet=opts.quiet, out=opts.out
                    )
                    return
                shown, run = compare.run(session, plan, jobs)
                value = run.results
        if opts.out:
            self.shell.user_ns[opts.out] = value
        if not opts.quiet:
            display(shown)
        failure = runner.verdict(run, "batch" if opts.over is not None else "comparison", opts.out)
        if failure:
            raise UsageError(failure)

    def close(self) -> None:
        """Release the HTTP connections (on %unload_ext)."""
        self.llama_session.close()

    def _show(self, response, opts, show=display):
        from ..display.answer_parts import NotJSON

        try:
            value = response.value
        except NotJSON as err:  # its problem and fix, with what happened in between: said once
            response.format = "text"
            if opts.out:
                self.shell.user_ns[opts.out] = response
            show(response)
            kept = f" {opts.out} holds the answer." if opts.out else ""
            raise UsageError(f"{err.problem}; it is shown above as text.{kept} {err.fix}") from None
        if opts.out:
            self.shell.user_ns[opts.out] = value
        if not opts.quiet:
            show(response)
        notebook_prompt.shown(self.shell, response, opts)
