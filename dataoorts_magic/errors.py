"""One exception class per kind of failure, each able to say in one line what happened and what to do.

The HTTP client raises these; the magics turn them into a one-line ``UsageError`` at the
boundary (and the panel into its error line), both through :func:`one_line`, so the user
never sees a traceback. Nothing here may ever hold the API key:
every text that came from a server passes through :func:`redact` before it gets here.

:func:`error_class` is the one table from an HTTP status and a provider error code to a kind.
"""

from __future__ import annotations

from typing import Any

from .secret import redact  # noqa: F401  (re-exported: errors.redact is where callers look)


class LlamaError(Exception):
    """Base class: ``str(err)`` is the one line a user sees (what happened, then the fix).

    Attributes: ``status`` (HTTP status or None), ``code`` (the provider's error code or None),
    ``provider_message`` (the server's own words, short and redacted), ``retry_after`` (seconds
    the server asked to wait, or None), ``retries`` (retries made before giving up),
    ``partial_text`` (text that arrived before a stream broke, or None), ``retryable``
    (whether the client's retry policy would try this again) and ``by_gateway`` (a class
    gateway's own refusal, INTERFACE.md section 14: its message names the fix, "ask your
    teacher", so the line gives no advice of its own that could contradict it).
    """

    what = "The request failed"
    fix = ""
    retryable = False
    partial_text: str | None = None
    by_gateway = False

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: int | None = None,
        provider_message: str | None = None,
        retry_after: float | None = None,
        fix: str | None = None,
        retries: int = 0,
        partial_text: str | None = None,
    ):
        self.status = status
        self.code = code
        self.provider_message = provider_message
        self.retry_after = retry_after
        self.retries = retries
        if partial_text is not None:
            self.partial_text = partial_text
        if fix is not None:
            self.fix = fix
        self.detail = message
        super().__init__(self.line())

    def line(self) -> str:
        """The whole one-line message: what, the server's status/code/message, then the fix."""
        if self.detail and not (self.status or self.code or self.provider_message):
            text = self.detail
        else:
            text = self.detail or self.gateway_what() or self.what
            facts = []
            if self.status:
                facts.append(f"HTTP {self.status}")
            if self.code:
                facts.append(f"code {self.code}")
            if facts or self.provider_message:
                inner = ", ".join(facts)
                if self.provider_message:
                    inner = f"{inner}: {self.provider_message}" if inner else self.provider_message
                text = f"{text} ({inner})"
        if self.retries:
            text = f"{text.rstrip('.')} after {self.retries} {'retry' if self.retries == 1 else 'retries'}"
        fix = "" if self.by_gateway else self.fix_text()
        if fix:
            text = f"{text.rstrip('.')}. {fix}"
        return " ".join(text.split())

    def fix_text(self) -> str:
        """What to do; kinds that a wait can cure say how long the server asked to wait."""
        return self.fix

    def gateway_what(self) -> str | None:
        """What happened, for a class gateway's own refusal (None otherwise): not this kind's usual
        words, which speak of the Dataoorts account (a daily quota, the key's permissions)."""
        if not self.by_gateway:
            return None
        if self.status and self.status >= 500:
            return "The class gateway could not get an answer"
        return "The class gateway refused the request"

    def refresh(self) -> LlamaError:
        """Recompute the message after changing an attribute (e.g. ``retries``); returns self."""
        self.args = (self.line(),)
        return self


def _wait_fix(err: LlamaError, otherwise: str) -> str:
    if err.retry_after and err.retry_after >= 1:
        seconds = round(err.retry_after)
        wait = f"{seconds} s" if seconds <= 300 else f"about {round(seconds / 60)} min"
        return f"The server asks to wait {wait}: run the cell again after that."
    return otherwise


class ConfigError(LlamaError):
    what = "The extension is not set up"


class MissingKeyError(ConfigError):
    what = "No Dataoorts API key is set"
    fix = (
        "Set DATAOORTS_API_KEY, run %llama_key to type it in, or use the offline endpoint with %llama_config --offline."
    )


class ValidationError(LlamaError):
    """A value the user gave is malformed or out of range; nothing was sent."""

    what = "Invalid value"


class SchemaError(ValidationError):
    """A ``--schema`` SPEC (or ``schema=``) that cannot be read; nothing was sent."""

    what = "Invalid schema"


class InvalidAnswerError(LlamaError):
    """The answer did not match the schema, even when asked again once.

    ``response`` is the last answer (a ``LlamaResponse`` whose usage and cost cover both
    exchanges), so nothing paid for is lost; ``usage`` and ``cost`` are its.
    """

    what = "The answer does not match the schema"
    response: Any = None

    @property
    def usage(self):
        return getattr(self.response, "usage", None)

    @property
    def cost(self):
        return getattr(self.response, "cost", None)


class AuthenticationError(LlamaError):
    what = "Authentication failed"
    fix = "Check your API key: set DATAOORTS_API_KEY or run %llama_key."


class PermissionDeniedError(LlamaError):
    what = "The key is not allowed to do this"
    fix = "Check that your key is active and allowed to use this model."


class BadRequestError(LlamaError):
    what = "The server refused the request as invalid"
    fix = "Check the prompt and the parameters (%llama_config shows them)."


class ModelNotFoundError(LlamaError):
    what = "No such model"
    fix = "Pick one from %llama_models."


class RequestTooLargeError(LlamaError):
    what = "The request is too large"
    fix = "Shorten the prompt or lower max_tokens."


class RateLimitError(LlamaError):
    what = "Rate limited by the server"
    fix = "Wait a little and run the cell again."

    def fix_text(self) -> str:
        return _wait_fix(self, self.fix)


class RateLimitStalledError(LlamaError):
    """Refused for the rate limit (429 / code 3040) for longer than waiting is worth: a batch stops."""

    what = "The server kept refusing requests for its rate limit"
    fix = "Run the cell again later: the answers that arrived are kept and reused from the log."


class QuotaExceededError(LlamaError):
    what = "The daily quota is used up"
    fix = "Try again tomorrow or raise the quota in your Dataoorts account."


class CapacityError(LlamaError):
    what = "The model is out of capacity"
    fix = "Try again in a minute."

    def fix_text(self) -> str:
        return _wait_fix(self, self.fix)


class ServerError(LlamaError):
    what = "The server had an error"
    fix = "Try again later."

    def fix_text(self) -> str:
        return _wait_fix(self, self.fix)


class RequestTimeoutError(LlamaError):
    what = "The request timed out"
    fix = "Try again, ask for fewer tokens, or raise the timeout with %llama_config timeout=300."


class ConnectionFailedError(LlamaError):
    what = "Could not connect to the endpoint"
    fix = "Check your network and DATAOORTS_API_URL (%llama_config shows it)."


class BadResponseError(LlamaError):
    what = "The server's answer could not be read"
    fix = "Try again; if it persists, check DATAOORTS_API_URL points at the Dataoorts API."


class AnswerTooLargeError(BadResponseError):
    """Past the cap on the bytes one answer may bring (a bomb, a runaway proxy): nothing is shown."""

    what = "The endpoint sent more than the answer cap"
    fix = "An 8,000-token answer is far smaller: check that DATAOORTS_API_URL points at the Dataoorts API."


class BudgetExceededError(LlamaError):
    what = "Budget reached"
    fix = "Raise it with %llama_config budget=<USD> or remove it with budget=none."


class LogError(LlamaError):
    """The log file could not be opened, read or written (the answer is still shown)."""

    what = "The log could not be used"


class CacheMissError(LlamaError):
    what = "No recorded answer for this request"
    fix = "Run it once with cache=on (or cache=off) to record it, or ship the log that has it."


# Provider codes (Cloudflare Workers AI, which the Dataoorts endpoint mirrors) are more specific
# than the HTTP status, so they are looked up first.
CODE_ERRORS: dict[int, type[LlamaError]] = {
    10000: AuthenticationError,
    5006: BadRequestError,
    5007: ModelNotFoundError,
    3042: ModelNotFoundError,
    3006: RequestTooLargeError,
    3007: RequestTimeoutError,
    3036: QuotaExceededError,
    4006: QuotaExceededError,
    3040: CapacityError,
}
STATUS_ERRORS: dict[int, type[LlamaError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: ModelNotFoundError,
    408: RequestTimeoutError,
    413: RequestTooLargeError,
    422: BadRequestError,
    429: RateLimitError,
    503: CapacityError,
}


def error_class(status: int | None, code: int | None) -> type[LlamaError]:
    """The kind of failure for an HTTP status and a provider error code (either may be None)."""
    if code in CODE_ERRORS:
        return CODE_ERRORS[code]
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    if status and 500 <= status <= 599:
        return ServerError
    if status and 400 <= status <= 499:
        return BadRequestError
    return BadResponseError


ONE_LINE_LIMIT = 500  # characters; a longer message is cut with "…"


def one_line(err: BaseException) -> str:
    """A failure as the one line a user sees (the magics' error line, the panel's error line).

    The package's own errors already say what happened and what to do; anything else is named
    by its type, so an unexpected failure is still one readable line, never a traceback.
    """
    return clip(str(err) if isinstance(err, LlamaError) else f"Unexpected error: {type(err).__name__}: {err}")


def clip(text, limit: int = ONE_LINE_LIMIT) -> str:
    """``text`` on one line (each run of white space one space), cut to ``limit`` characters with "…".

    The one shortening of every line we show from elsewhere: errors, a server's words, a
    validation problem, a table cell."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
