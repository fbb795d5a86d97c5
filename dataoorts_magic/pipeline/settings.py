"""Settings as traitlets, and the effective value of each with where it came from.

``LlamaSettings`` holds every setting as a configurable trait, so ``%config
LlamaMagics.temperature = 0.2`` and ``ipython_config.py`` work. A trait left at
``None`` means "not set here", so the environment and then the built-in default
apply: precedence is cell flag > session (``%llama_config``/``%config``) >
environment > default. The API key is never a trait: it is read at call time.

Every number is checked when it is set, by ``%llama_config`` and ``%config`` alike: ``nan``,
``inf`` and overflows are refused (traitlets' own ranges let ``nan`` through), and so is an
``api_url`` that is not an http(s) URL with a host.
"""

from __future__ import annotations

import math
import os

from traitlets import Bool, Enum, Float, Int, TraitError, Unicode, validate
from traitlets.config import Configurable

from ..errors import ValidationError
from ..params import DEFAULT_MAX_TOKENS, DEFAULT_MODEL, PARAMS, coerce
from ..secret import Secret
from .hub_key import hub_key

DEFAULT_API_URL = "https://cloud.dataoorts.com/api/v1"
MAX_CONCURRENCY = 64  # requests in flight for --over / --compare, and the connection pool size
DEFAULT_RATE_LIMIT = 300  # requests per minute: the platform's published limit for text generation
MAX_RATE_LIMIT = 60_000
MAX_TIMEOUT = 3600.0  # s: an hour is past any answer (and far below what overflows a socket timeout)
KEY_ENV = "DATAOORTS_API_KEY"
FORMATS = ("markdown", "text", "code", "json")
CACHE_MODES = ("off", "on", "replay")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

# Settings that fall back to an environment variable when not set in the session.
ENVIRONMENT = {
    "api_url": "DATAOORTS_API_URL",
    "model": "DATAOORTS_MODEL",
    "offline": "DATAOORTS_OFFLINE",
    "log": "DATAOORTS_MAGIC_LOG",
}

# Built-in defaults of the settings whose trait default is None (= not set).
DEFAULTS = {"api_url": DEFAULT_API_URL, "model": DEFAULT_MODEL, "offline": False, "log": True}


class FiniteFloat(Float):
    """A Float setting that refuses ``nan`` and infinities (which pass any min/max check)."""

    def validate(self, obj, value):
        if isinstance(value, (int, float)) and not math.isfinite(value):
            raise TraitError(f"{self.name}={value!r} is not a finite number: give a number such as 1.5.")
        return super().validate(obj, value)


def url_problem(url: str) -> str | None:
    """What is wrong with an endpoint URL (as words that follow "it"), or None when it is usable."""
    from ..client.endpoint_url import url_problem as problem  # ipaddress loads at the first URL checked

    return problem(url)


def _param(name):
    p = PARAMS[name]
    trait = Int if p.type is int else FiniteFloat
    server = "server default" if p.default is None else f"server default {p.default}"
    return trait(None, allow_none=True, min=p.min, max=p.max, help=f"{p.help}; {p.min}..{p.max}; None = {server}").tag(
        config=True
    )


class LlamaSettings(Configurable):
    """Every user setting of the extension, as configurable traits."""

    model = Unicode(None, allow_none=True, help=f"model name; None = $DATAOORTS_MODEL or {DEFAULT_MODEL}").tag(
        config=True
    )
    system = Unicode(None, allow_none=True, help="default system prompt; None = no system message").tag(config=True)
    max_tokens = Int(
        DEFAULT_MAX_TOKENS, min=1, help="most tokens to generate (always sent); bounded by the model's context window"
    ).tag(config=True)
    temperature = _param("temperature")
    top_p = _param("top_p")
    top_k = _param("top_k")
    seed = _param("seed")
    repetition_penalty = _param("repetition_penalty")
    frequency_penalty = _param("frequency_penalty")
    presence_penalty = _param("presence_penalty")
    api_url = Unicode(None, allow_none=True, help=f"endpoint; None = $DATAOORTS_API_URL or {DEFAULT_API_URL}").tag(
        config=True
    )
    timeout = FiniteFloat(
        120.0,
        min=0.1,
        max=MAX_TIMEOUT,
        help="seconds one request may take in all, from sending to the last byte of the answer (a stream's "
        "too, so also its silence between events; keep-alive comments do not extend it); each retry gets its own",
    ).tag(config=True)
    connect_timeout = FiniteFloat(10.0, min=0.1, max=MAX_TIMEOUT, help="connect timeout in seconds").tag(config=True)
    max_retries = Int(2, min=0, max=10, help="retries of transient failures (429, 5xx, timeouts)").tag(config=True)
    concurrency = Int(4, min=1, max=MAX_CONCURRENCY, help="requests in flight for --over and --compare").tag(
        config=True
    )
    format = Enum(FORMATS, "markdown", help="how answers are shown: markdown, text, code or json").tag(config=True)
    stream = Bool(False, help="ask for a stream and render the answer as it arrives").tag(config=True)
    log = Bool(None, allow_none=True, help="log every exchange to SQLite; None = $DATAOORTS_MAGIC_LOG or on").tag(
        config=True
    )
    cache = Enum(CACHE_MODES, "off", help="off, on (answer repeats from the log) or replay (only from the log)").tag(
        config=True
    )
    offline = Bool(
        None, allow_none=True, help="use the bundled offline endpoint; None = $DATAOORTS_OFFLINE or off"
    ).tag(config=True)
    budget = FiniteFloat(
        None,
        allow_none=True,
        min=0.0,
        help="cap on this session's spend in USD; a request is refused unless its worst case fits; None = no cap",
    ).tag(config=True)
    context_cells = Int(
        3, min=0, max=50, help="cells that -x (--context) with no number sends: the last ones run, oldest first"
    ).tag(config=True)
    rate_limit = Int(
        DEFAULT_RATE_LIMIT,
        min=0,
        max=MAX_RATE_LIMIT,
        help="requests per minute for the whole session, rate_limit/60 starting at once in any second "
        "(300 = the platform's published limit for text generation); 0 = no cap; offline: not paced",
    ).tag(config=True)

    @validate("api_url")
    def _check_api_url(self, proposal):
        url = proposal["value"]
        if url is not None and (problem := url_problem(url)) is not None:
            raise TraitError(f"api_url={url!r} is not a usable endpoint: it {problem}.")
        return url


SETTING_NAMES = (
    "model",
    "system",
    *PARAMS,
    "api_url",
    "timeout",
    "connect_timeout",
    "max_retries",
    "concurrency",
    "format",
    "stream",
    "log",
    "cache",
    "offline",
    "budget",
    "rate_limit",
    "context_cells",
)
assert set(SETTING_NAMES) == set(LlamaSettings.class_trait_names(config=True))
# Trait defaults are static: read them once, not on every cell.
TRAIT_DEFAULTS = {name: trait.default_value for name, trait in LlamaSettings.class_traits(config=True).items()}
PARAM_NAMES = tuple(PARAMS)


def env_value(name: str, environ=os.environ):
    """The value the environment gives a setting, or None."""
    var = ENVIRONMENT.get(name)
    raw = environ.get(var) if var else None
    if raw is None or raw == "":
        return None
    if name in ("offline", "log"):
        return raw.strip().lower() in _TRUE
    return raw


def resolve(
    holder: LlamaSettings, flags: dict | None = None, session_set: set | None = None, environ=os.environ
) -> dict:
    """Effective value and source of every setting: ``{name: (value, source)}``.

    ``flags`` are this cell's options (None = not given); ``session_set`` names the
    settings changed by ``%llama_config`` (reported as "session" rather than "config").
    """
    flags = flags or {}
    session_set = session_set or set()
    configured = set(holder.config.get(type(holder).__name__, {}))
    out = {}
    for name in SETTING_NAMES:
        if flags.get(name) is not None:
            out[name] = (flags[name], "flag")
            continue
        value = getattr(holder, name)
        default = TRAIT_DEFAULTS[name]
        if value is not None and (value != default or name in session_set or name in configured):
            out[name] = (value, "session" if name in session_set else "config")
        elif (env := env_value(name, environ)) is not None:
            out[name] = (env, "environment")
        elif value is not None:
            out[name] = (value, "default")
        else:
            out[name] = (DEFAULTS.get(name), "default")
    return out


def parse_assignment(name: str, text: str):
    """Turn ``name=text`` from ``%llama_config`` into the setting's value (validated)."""
    if name not in SETTING_NAMES:
        raise ValidationError(f"unknown setting {name!r}: use one of {', '.join(SETTING_NAMES)}.")
    low = text.strip().lower()
    if low in ("none", "default", "unset") and name not in ("format", "cache"):
        return None
    if name in PARAMS:
        return coerce(name, text)
    if name == "api_url" and (problem := url_problem(text.strip())) is not None:
        raise ValidationError(
            f"api_url={text!r} is not a usable endpoint: it {problem}. Give e.g. api_url={DEFAULT_API_URL}."
        )
    trait = LlamaSettings.class_traits()[name]
    if isinstance(trait, Bool):
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValidationError(f"{name}={text!r} is not on or off: use {name}=on or {name}=off.")
    if isinstance(trait, Enum):
        allowed = tuple(trait.values or ())
        if low not in allowed:
            raise ValidationError(f"{name}={text!r} is not allowed: use one of {', '.join(allowed)}.")
        return low
    if isinstance(trait, (Int, Float)):
        try:
            number = int(text) if isinstance(trait, Int) else float(text)
            if not math.isfinite(number):
                raise ValueError
        except ValueError:
            kind = (
                "not a number: give a whole number" if isinstance(trait, Int) else "not a finite number: give a number"
            )
            raise ValidationError(f"{name}={text!r} is {kind}, e.g. {name}={trait.default_value or 1}.") from None
        low_b, high_b = trait.min, trait.max
        if (low_b is not None and number < low_b) or (high_b is not None and number > high_b):
            bounds = f"at least {low_b}" if high_b in (None, math.inf) else f"from {low_b} to {high_b}"
            raise ValidationError(f"{name}={text} is out of range: use a value {bounds}.")
        return number
    return text.strip() if name == "api_url" else text


def read_key(session_key, environ=os.environ, url=None):
    """The API key at call time, as a :class:`~dataoorts_magic.secret.Secret`: the one typed with
    ``%llama_key``, else the environment's, else (for a ``url`` on the Hub's own origin: a class
    gateway run as a JupyterHub service) ``JUPYTERHUB_API_TOKEN``; None when none applies."""
    return session_key or Secret.of(environ.get(KEY_ENV)) or hub_key(url, environ)


def key_source(session_key, url=None, environ=os.environ) -> str | None:
    """Where :func:`read_key` would take the key for ``url`` from: ``"typed"`` (``%llama_key``),
    ``"environment"`` (``DATAOORTS_API_KEY``), ``"hub"`` (``JUPYTERHUB_API_TOKEN``), or None."""
    if session_key:
        return "typed"
    if Secret.of(environ.get(KEY_ENV)) is not None:
        return "environment"
    return "hub" if hub_key(url, environ) is not None else None
