"""The bundled offline endpoint: a loopback server that speaks the Dataoorts API, with fault injection.

Standard library plus ``params`` only. ``server.OfflineServer`` runs one; ``server.start_offline``
gives the process-wide instance behind ``DATAOORTS_OFFLINE=1``; ``cli`` is ``dataoorts-magic serve``.
"""
