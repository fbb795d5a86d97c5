"""The classroom gateway (INTERFACE.md section 14): one account key behind a server that students reach with tokens.

Only ``dataoorts-magic gateway`` imports this package (it needs the ``[gateway]`` extra: tornado,
SQLAlchemy, psycopg, and JupyterHub for ``--hub``). It never imports IPython. The parts:
``tokens`` (hashes, constant-time checks), ``ledger_schema`` and ``ledger`` (students, budgets,
one row per request, over SQLite or PostgreSQL), ``pacing`` (the class's rate, per-student
queues served round-robin, each student's own rate), ``wire`` (section 1's bodies and
envelopes), ``upstream`` (forwarding, streams passed through), ``hub`` (JupyterHub users),
``api`` and ``pages`` (the tornado handlers), ``dashboard`` (the teacher's page), ``app``
(the server) and ``cli`` (the commands).
"""
