"""dataoorts-magic: ``%%llama`` cells for the Dataoorts serverless Llama API.

Importing the package stays cheap: the magics (and everything heavy behind them) are
imported only when IPython loads the extension.
"""
__version__ = "0.1.0"


def load_ipython_extension(ipython):
    """Register the magics; called by ``%load_ext dataoorts_magic``."""
    from .magics import load

    load(ipython)


def unload_ipython_extension(ipython):
    """Unregister the magics; called by ``%unload_ext`` and ``%reload_ext``."""
    from .magics import unload

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
        raise UsageError("dataoorts_magic is not loaded: run %load_ext dataoorts_magic first, "
                         "then dataoorts_magic.panel().")
    from .panel_widgets import build_panel

    return build_panel(magics.llama_session, shell)
