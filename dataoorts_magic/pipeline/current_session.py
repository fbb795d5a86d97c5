"""The session the Python API uses: the loaded extension's, or one of the process's own, built from the environment.

``dataoorts_magic.ask`` / ``ask_each`` share everything with the magics when the extension is
loaded (settings, key, conversations, budget, log, cache, rate limit): they use its
``LlamaSession``. In a plain ``python`` process there is no shell, so the first call builds
one session for the process from the environment alone (``DATAOORTS_API_KEY``,
``DATAOORTS_API_URL``, ``DATAOORTS_MODEL``, ``DATAOORTS_OFFLINE=1``, ``DATAOORTS_MAGIC_HOME``...).
IPython is never imported here: it is looked up only if something else already imported it.
"""

from __future__ import annotations

import atexit
import sys
import threading

from .session import LlamaSession
from .settings import LlamaSettings

_lock = threading.Lock()
_own: LlamaSession | None = None


def own_session() -> LlamaSession:
    """This process's session outside IPython (created on first use, closed at exit)."""
    global _own
    with _lock:
        if _own is None:
            _own = LlamaSession(LlamaSettings())
            atexit.register(_own.close)
        return _own


def extension_session() -> LlamaSession | None:
    """The session of the extension loaded in the running IPython shell, or None."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    magics = shell.magics_manager.registry.get("LlamaMagics") if shell is not None else None
    return magics.llama_session if magics is not None else None


def current_session() -> LlamaSession:
    return extension_session() or own_session()
