"""Many requests from one cell: ``--over`` (``over``, with its ``result.BatchResult``), ``--compare``
(``compare``), and the ``runner`` that sends them a few at a time.
"""


def __getattr__(name):
    # ``dataoorts_magic.batch.BatchResult`` was the class's path before the package had layers.
    if name == "BatchResult":
        from .result import BatchResult

        return BatchResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
