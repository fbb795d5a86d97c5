"""What the HTTP client's tests share: a key to look for in every error, and a request to send."""

from __future__ import annotations

KEY = "sk-test-SECRET-0123456789abcdef"
MODEL = "meta/llama-3.1-8b-instruct"
MESSAGES = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}]


def assert_clean(err):
    """One line, and the key nowhere."""
    line = str(err)
    assert "\n" not in line
    assert KEY not in line and KEY not in repr(err) and all(KEY not in str(a) for a in err.args)
    assert KEY not in (err.provider_message or "")
