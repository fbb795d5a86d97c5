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
