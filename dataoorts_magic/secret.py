"""The API key as an object that never shows itself: not in a repr, a str, a traceback or a pickle.

``%xmode Verbose`` prints every local variable and argument of every frame of a traceback,
and IPython evaluates simple names and attributes on the lines it shows. So the key travels
through the package as a :class:`Secret`: its repr and str are ``***``, its value sits in a
closure (no attribute holds it) and is read only where it must be, with :meth:`Secret.reveal`
inside the ``Authorization`` hook, and by :func:`redact` to remove it from a server's text.
"""

from __future__ import annotations

from urllib.parse import quote

HIDDEN = "***"


class Secret:
    """A key that hides itself: ``repr(s) == str(s) == '***'``; ``s.reveal()`` gives the value."""

    __slots__ = ("_reveal",)

    def __init__(self, value: str):
        def reveal() -> str:
            return value

        self._reveal = reveal

    @classmethod
    def of(cls, value) -> Secret | None:
        """``value`` as a Secret (a Secret is kept as is); None for nothing or blank text."""
        if value is None or isinstance(value, Secret):
            return value
        return cls(str(value).strip()) if str(value).strip() else None

    def reveal(self) -> str:
        """The key itself: call it where it is used, never keep the result in a variable."""
        return self._reveal()

    def __bool__(self) -> bool:
        return bool(self._reveal())

    def __repr__(self) -> str:
        return f"'{HIDDEN}'"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("the API key is not saved: set it again in the new process")


def redact(text: str | None, secret) -> str | None:
    """``text`` without ``secret`` (a Secret or a str), also URL-quoted, as a server may echo it."""
    if not text or not secret:
        return text
    reveal = secret.reveal if isinstance(secret, Secret) else lambda: secret
    # The key is never bound to a local name here, so no frame of a traceback can print it.
    return text.replace(reveal(), HIDDEN).replace(quote(reveal(), safe=""), HIDDEN)
