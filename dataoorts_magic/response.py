"""The old path of ``LlamaResponse`` and ``Usage``, kept for code written before the package had layers.

They live in :mod:`dataoorts_magic.display.response`; ``from dataoorts_magic import LlamaResponse``
is the path to use.
"""

from .display.response import LlamaResponse, Usage

__all__ = ["LlamaResponse", "Usage"]
