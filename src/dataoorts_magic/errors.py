"""One exception class per kind of failure, each able to say in one line what happened and what to do.

The HTTP client raises these; the magics turn them into a one-line ``UsageError`` at the
boundary, so the user never sees a traceback. Nothing here may ever hold the API key.
"""
from __future__ import annotations


class LlamaError(Exception):
    """Base class: ``str(err)`` is the one line a user sees (what happened, then the fix)."""

    what = "The request failed"
    fix = ""

    def __init__(self, message: str | None = None, *, status: int | None = None, code: int | None = None,
                 provider_message: str | None = None, retry_after: float | None = None, fix: str | None = None):
        self.status = status
        self.code = code
        self.provider_message = provider_message
        self.retry_after = retry_after
        if fix is not None:
            self.fix = fix
        self.detail = message
        super().__init__(self.line())

    def line(self) -> str:
        """The whole one-line message: what, the server's status/code/message, then the fix."""
        if self.detail and not (self.status or self.code or self.provider_message):
            text = self.detail
        else:
            text = self.detail or self.what
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
        if self.fix:
            text = f"{text.rstrip('.')}. {self.fix}"
        return " ".join(text.split())


class ConfigError(LlamaError):
    what = "The extension is not set up"


class MissingKeyError(ConfigError):
    what = "No Dataoorts API key is set"
    fix = ("Set DATAOORTS_API_KEY, run %llama_key to type it in, "
           "or use the offline endpoint with %llama_config --offline.")


class ValidationError(LlamaError):
    """A value the user gave is malformed or out of range; nothing was sent."""

    what = "Invalid value"


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

    @property
    def fix(self):  # type: ignore[override]
        if self.retry_after:
            return f"Wait {self.retry_after:.0f} s and run the cell again."
        return "Wait a little and run the cell again."


class QuotaExceededError(LlamaError):
    what = "The daily quota is used up"
    fix = "Try again tomorrow or raise the quota in your Dataoorts account."


class CapacityError(LlamaError):
    what = "The model is out of capacity"
    fix = "Try again in a minute."


class ServerError(LlamaError):
    what = "The server had an error"
    fix = "Try again later."


class RequestTimeoutError(LlamaError):
    what = "The request timed out"
    fix = "Try again, ask for fewer tokens, or raise the timeout with %llama_config timeout=300."


class ConnectionFailedError(LlamaError):
    what = "Could not connect to the endpoint"
    fix = "Check your network and DATAOORTS_API_URL (%llama_config shows it)."


class BadResponseError(LlamaError):
    what = "The server's answer could not be read"
    fix = "Try again; if it persists, check DATAOORTS_API_URL points at the Dataoorts API."


class BudgetExceededError(LlamaError):
    what = "Budget reached"
    fix = "Raise it with %llama_config budget=<USD> or remove it with budget=none."


class CacheMissError(LlamaError):
    what = "No recorded answer for this request"
    fix = "Run it once with cache=on (or cache=off) to record it, or ship the log that has it."


def redact(text: str | None, secret: str | None) -> str | None:
    """Remove ``secret`` from ``text`` (a server may echo what it was sent)."""
    if not text or not secret:
        return text
    return text.replace(secret, "***")
