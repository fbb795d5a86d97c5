"""dataoorts-magic: ``%%llama`` cells for the Dataoorts serverless Llama API.

In [1]: %load_ext dataoorts_magic

From Python (a script, a function): ``dataoorts_magic.ask(prompt, ...)`` and
``dataoorts_magic.ask_each(items, prompt, ...)``.

Importing the package stays cheap: the magics (and everything heavy behind them) are imported
only when IPython loads the extension, ``ask`` / ``ask_each`` on their first call, and
``LlamaResponse`` / ``BatchResult`` only when first named. The layers, bottom up:
``errors``/``params``; ``api`` (HTTP), ``offline`` (the bundled endpoint), ``display`` (safe
rendering); ``pipeline`` (the one request path); ``batch``; ``magics`` and ``widgets`` (the
front doors).
"""

from ._version import __version__
from .errors import LlamaError

__all__ = [
    "BatchResult",
    "LlamaError",
    "LlamaResponse",
    "__version__",
    "ask",
    "ask_each",
    "load_ipython_extension",
    "panel",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython):
    """Register the magics; called by ``%load_ext dataoorts_magic``."""
    from .magics.extension import load

    load(ipython)


def unload_ipython_extension(ipython):
    """Unregister the magics; called by ``%unload_ext`` and ``%reload_ext``."""
    from .magics.extension import unload

    unload(ipython)


def panel():
    """The widget panel of the loaded extension (what ``%llama_panel`` shows), for use from Python.

    In [1]: import dataoorts_magic
    In [2]: p = dataoorts_magic.panel(); p

    Building it displays nothing; displaying it shows the panel and its static transcript.
    """
    from IPython import get_ipython
    from IPython.core.error import UsageError

    shell = get_ipython()
    magics = shell.magics_manager.registry.get("LlamaMagics") if shell is not None else None
    if magics is None:
        raise UsageError(
            "dataoorts_magic is not loaded: run %load_ext dataoorts_magic first, then dataoorts_magic.panel()."
        )
    from .widgets.panel import build_panel

    return build_panel(magics.llama_session, shell)


def ask(prompt, *, system=None, model=None, chat=None, schema=None, **params):
    """Ask the Llama model from Python (a function, a script, a pipeline step); returns a ``LlamaResponse``.

    >>> import dataoorts_magic
    >>> r = dataoorts_magic.ask("Explain a p-value in one sentence.", temperature=0.2, max_tokens=80)
    >>> r.text, r.usage, r.cost
    >>> r = dataoorts_magic.ask("Label: 'Leaks after a week.'", schema="sentiment: positive|negative, stars: int")
    >>> r.data
    {'sentiment': 'negative', 'stars': 1}

    ``prompt`` is sent as typed (use an f-string for values); ``system`` and ``model`` as the
    ``-s`` / ``-m`` flags; ``chat`` continues a named conversation (as ``-c NAME``); ``params``
    are the sampling parameters (``temperature``, ``top_p``, ``top_k``, ``max_tokens``,
    ``seed``, ``repetition_penalty``, ``frequency_penalty``, ``presence_penalty``) with the
    ranges of ``%%llama?``. ``schema`` asks for one JSON object: an inline spec
    (``"sentiment: positive|negative|neutral, stars: int, note: str?"``; types ``str``, ``int``,
    ``float``, ``bool``, ``list[str]``, ``a|b|c``, ``?`` = optional), a JSON Schema dict or a
    pydantic model class; the answer is validated (asked again once if it does not match) and
    ``r.data`` holds the dict.

    With the extension loaded (``%load_ext dataoorts_magic``) it uses that session: its
    settings, key, conversations, budget, rate limit, log and cache. In a plain ``python``
    process it works from the environment alone (``DATAOORTS_API_KEY``, ``DATAOORTS_API_URL``,
    ``DATAOORTS_MODEL``, ``DATAOORTS_OFFLINE=1``). A bad argument raises a ``LlamaError``
    subclass with the one line ``%%llama`` shows, before anything is sent; so do server
    failures, and an answer that still does not match the schema (``InvalidAnswerError``,
    whose ``.response`` holds it).
    """
    from .python_api import ask as ask_one

    return ask_one(prompt, system=system, model=model, chat=chat, schema=schema, **params)


def ask_each(items, prompt, *, concurrency=None, schema=None, system=None, model=None, **params):
    """One request per item, a few at a time (as ``%%llama --over``); returns a ``BatchResult``.

    >>> import dataoorts_magic, pandas as pd
    >>> reviews = pd.DataFrame({"review": ["Leaks after a week.", "Quiet and quick."]})
    >>> labels = dataoorts_magic.ask_each(reviews, "Label this review: {review}", schema="sentiment: positive|negative")
    >>> labels.to_frame()          # the review column, then a typed column per field, error, tokens, cost

    ``items`` is a list, tuple or other iterable, a pandas Series (index kept) or a DataFrame
    (one request per row); the prompt (or ``system``) uses ``{item}``, or a row's ``{column}``.
    ``concurrency`` is the requests in flight (default: the ``concurrency`` setting, 4). The
    other arguments are those of :func:`ask`. A failed item keeps its error in the result
    (``.errors``) and the others go on; a failure every item would repeat (no key, quota)
    raises when no answer arrived. With ``schema``, ``.records`` holds the dicts.
    """
    from .python_api import ask_each as ask_many

    return ask_many(items, prompt, concurrency=concurrency, schema=schema, system=system, model=model, **params)


def __getattr__(name):
    # The result classes are imported when first named, so ``import dataoorts_magic`` stays light.
    if name == "LlamaResponse":
        from .display.response import LlamaResponse

        return LlamaResponse
    if name == "BatchResult":
        from .batch.result import BatchResult

        return BatchResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
