"""Break javascript:, vbscript:, livescript: and data: URL schemes in untrusted text.

A link, an image or a MathJax ``\\href`` could run them; an invisible U+2060 after the first
letter keeps the text readable and makes the scheme unusable. Shared by ``render`` (HTML text
outside code) and ``safe_markdown`` (everything outside trusted fences).
"""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"  # invisible, and never part of a URL scheme
_DANGER = re.compile(  # tolerant of CR/LF/TAB, which browsers drop inside a scheme
    r"(?i)(?:j[\t\n\r]*a[\t\n\r]*v[\t\n\r]*a|v[\t\n\r]*b|l[\t\n\r]*i[\t\n\r]*v[\t\n\r]*e)"
    r"[\t\n\r]*s[\t\n\r]*c[\t\n\r]*r[\t\n\r]*i[\t\n\r]*p[\t\n\r]*t[\t\n\r]*\\?:"
    r"|d[\t\n\r]*a[\t\n\r]*t[\t\n\r]*a[\t\n\r]*\\?:(?=\S)"
)
_DANGER_HINT = re.compile(r"(?i)[ta][\t\n\r]*\\?:")  # cheap first look: those schemes end in t or a


def has_script_url(text: str) -> bool:
    """Whether ``text`` holds a scheme ``defang`` would break (the cheap look first, as answers rarely do)."""
    return bool(_DANGER_HINT.search(text) and _DANGER.search(text))


def defang(text: str) -> str:
    """Break every javascript:/vbscript:/data: scheme with an invisible U+2060 after its first letter."""
    if not _DANGER_HINT.search(text):
        return text
    return _DANGER.sub(lambda m: m[0][0] + WORD_JOINER + m[0][1:], text)
