"""Where a request goes and with which key: the bundled endpoint when offline, else the configured one.

Checked before anything is reserved or sent: no key, or an endpoint URL that cannot be used, is
one line with its fix; a plain-http endpoint that is not loopback is warned about once.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigError, MissingKeyError
from ..secret import Secret
from . import settings as settings_mod


def endpoint(eff: dict, typed_key: Secret | None, note_once: Callable[[str, str], None]) -> tuple[str, Secret, bool]:
    """(url, key, offline) for the effective settings ``eff``; ``typed_key`` is the one of ``%llama_key``."""
    if eff["offline"]:
        from ..offline.server import start_offline

        url, offline_key = start_offline()
        return url, Secret(offline_key), True
    key = settings_mod.read_key(typed_key, url=eff["api_url"])
    if not key:
        raise MissingKeyError()
    from ..client.endpoint_url import insecure_endpoint_warning, url_problem

    if (problem := url_problem(eff["api_url"])) is not None:
        raise ConfigError(
            f"The endpoint {eff['api_url']!r} is not usable: it {problem}",
            fix=f"Set DATAOORTS_API_URL (or %llama_config api_url=...) to {settings_mod.DEFAULT_API_URL} "
            "or your endpoint.",
        )
    warning = insecure_endpoint_warning(eff["api_url"])
    if warning:
        note_once(f"url:{eff['api_url']}", warning)
    return eff["api_url"], key, False
