"""dataoorts-magic: ``%%llama`` cells for the Dataoorts serverless Llama API.

In [1]: %load_ext dataoorts_magic

Importing the package stays cheap: the magics (and everything heavy behind them) are imported
only when IPython loads the extension, and ``LlamaResponse`` / ``BatchResult`` only when first
named. The layers, bottom up: ``errors``/``params``; ``api`` (HTTP), ``offline`` (the bundled
endpoint), ``display`` (safe rendering); ``pipeline`` (the one request path); ``batch``;
``magics`` and ``widgets`` (the front doors).
"""

from ._version import __version__
from .errors import LlamaError

__all__ = [
    "BatchResult",
    "LlamaError",
    "LlamaResponse",
    "__version__",
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


def __getattr__(name):
    # The result classes are imported when first named, so ``import dataoorts_magic`` stays light.
    if name == "LlamaResponse":
        from .display.response import LlamaResponse

        return LlamaResponse
    if name == "BatchResult":
        from .batch.result import BatchResult

        return BatchResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
