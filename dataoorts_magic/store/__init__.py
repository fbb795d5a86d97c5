"""The exchange store: the SQLite log of every exchange, its migrations, the cache and batch resume."""
