"""The package version, in one place: read by ``pyproject.toml``, the User-Agent and ``__version__``."""

__version__ = "0.1.0"
