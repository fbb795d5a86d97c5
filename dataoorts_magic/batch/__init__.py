"""Many requests from one cell: ``--over`` (``over``, with its ``result.BatchResult``), ``--compare``
(``compare``), and the ``runner`` that sends them a few at a time.
"""
