"""styles.py: every colour we give code, footers and errors reads at 4.5:1 in JupyterLab Light and Dark.

The theme variables are read from the JupyterLab installed here (its theme extensions' CSS), each
declaration of ours is resolved as a browser does (``var()`` with its fallback, ``color-mix`` in
sRGB, an rgba colour over what is behind it), and its contrast is computed as WCAG defines it.
Without the theme (static HTML) the fallbacks are checked on white. The browser test measures
the same in a real page, for the tokens of its answer; this covers every token we colour.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from dataoorts_magic.display import styles

THEMES = Path(sys.prefix) / "share/jupyter/lab/themes/@jupyterlab"
NAMED = {"green": "#008000", "blue": "#0000ff", "red": "#ff0000", "white": "#ffffff", "black": "#000000"}


def theme_variables(name: str) -> dict:
    css = (THEMES / f"theme-{name}-extension/index.css").read_text("utf-8")
    return dict(re.findall(r"--([\w-]+):\s*([^;}]+)[;}]", css))


def split_args(text: str) -> list[str]:
    """The top-level comma-separated arguments of a CSS function."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return parts + [text[start:].strip()]


def rgba(value: str, variables: dict) -> tuple:
    """A CSS colour value as (r, g, b, a), resolving var() and color-mix(in srgb, ...)."""
    value = value.strip()
    if value.startswith("var("):
        name, *fallback = split_args(value[4:-1])
        found = variables.get(name.removeprefix("--"))
        return rgba(found if found is not None else fallback[0], variables)
    if value.startswith("color-mix("):
        _, first, second = split_args(value[len("color-mix(") : -1])
        (a, share), b = first.rsplit(" ", 1), second
        p = float(share.rstrip("%")) / 100
        ca, cb = rgba(a, variables), rgba(b, variables)
        return tuple(x * p + y * (1 - p) for x, y in zip(ca, cb, strict=True))
    if value.startswith("rgba("):
        r, g, b, a = (float(v) for v in split_args(value[5:-1]))
        return (r, g, b, a)
    hexa = NAMED.get(value, value).lstrip("#")
    hexa = "".join(c * 2 for c in hexa) if len(hexa) == 3 else hexa
    return (*(int(hexa[i : i + 2], 16) for i in (0, 2, 4)), 1.0)


def over(top: tuple, under: tuple) -> tuple:
    return tuple(t * top[3] + u * (1 - top[3]) for t, u in zip(top[:3], under[:3], strict=True)) + (1.0,)


def luminance(rgb: tuple) -> float:
    c = [v / 255 / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in rgb[:3]]
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def contrast(fg: tuple, bg: tuple) -> float:
    high, low = sorted((luminance(over(fg, bg)), luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def colour_of(declarations: str) -> str:
    """The last ``color:`` of a declaration list (a browser with color-mix uses the last one)."""
    return [d.split(":", 1)[1] for d in declarations.split(";") if d.startswith("color:")][-1]


THEME_NAMES = ["light", "dark", None]  # None: no JupyterLab, only our fallbacks (nbconvert without its CSS)


@pytest.mark.parametrize("theme", THEME_NAMES, ids=["light", "dark", "fallbacks"])
def test_every_code_token_colour_reads_on_the_code_background(theme):
    variables = theme_variables(theme) if theme else {}
    background = rgba("var(--jp-cell-editor-background,#f5f5f5)", variables)
    for token, declarations in styles.CODE_TOKENS.items():
        if "color:" in declarations:
            ratio = contrast(rgba(colour_of(declarations), variables), background)
            assert ratio >= 4.5, (theme, token, round(ratio, 2))


@pytest.mark.parametrize("theme", THEME_NAMES, ids=["light", "dark", "fallbacks"])
@pytest.mark.parametrize("line", ["FOOTER", "ERROR"])
def test_footer_and_error_lines_read_on_the_output_background(theme, line):
    variables = theme_variables(theme) if theme else {}
    background = rgba("var(--jp-layout-color0,#ffffff)", variables)
    ratio = contrast(rgba(colour_of(getattr(styles, line)), variables), background)
    assert ratio >= 4.5, (theme, line, round(ratio, 2))
