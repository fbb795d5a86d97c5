"""The one parameter table and the one model table.

Everything that knows a parameter's name, type, range or flag (argument parsing,
validation, ``%llama_config``, the panel, the docs) reads it from here, and every
price or context window comes from ``models.json`` (copied from the provider's docs).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from .errors import ValidationError

DEFAULT_MODEL = "meta/llama-3.1-8b-instruct"
DEFAULT_MAX_TOKENS = 512


class Param(NamedTuple):  # a NamedTuple, not a dataclass: building one costs ~1.5 ms of %load_ext
    """A sampling parameter as documented: its type, its general range and the server default."""

    name: str
    type: type
    min: float
    max: float
    default: float | None
    flags: tuple[str, ...]
    help: str


PARAMS: dict[str, Param] = {
    p.name: p
    for p in (
        Param(
            "max_tokens",
            int,
            1,
            8000,
            DEFAULT_MAX_TOKENS,
            ("-n", "--max-tokens"),
            "most tokens to generate (always sent; bounded by the model's context window)",
        ),
        Param(
            "temperature",
            float,
            0,
            5,
            0.6,
            ("-t", "--temperature"),
            "randomness: 0 is most predictable, higher is more varied",
        ),
        Param(
            "top_p",
            float,
            0,
            2,
            None,
            ("--top-p",),
            "nucleus sampling: keep the smallest set of tokens whose probability adds up to this",
        ),
        Param("top_k", int, 1, 50, None, ("--top-k",), "sample only from the k most likely next tokens"),
        Param("seed", int, 1, 9999999999, None, ("--seed",), "random seed, for repeatable answers"),
        Param(
            "repetition_penalty",
            float,
            0,
            2,
            None,
            ("--repetition-penalty",),
            "penalise repeating tokens (1 is neutral)",
        ),
        Param(
            "frequency_penalty",
            float,
            0,
            2,
            None,
            ("--frequency-penalty",),
            "penalise tokens by how often they already appeared",
        ),
        Param(
            "presence_penalty",
            float,
            0,
            2,
            None,
            ("--presence-penalty",),
            "penalise tokens that already appeared at all",
        ),
    )
}


class Model(NamedTuple):
    """A row of the model table: prices in USD per million tokens and the context window."""

    name: str
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    context_window: int
    ranges: dict  # param name -> (min, max); only what the model documents

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_usd_per_mtok + completion_tokens * self.output_usd_per_mtok) / 1e6


@lru_cache(maxsize=1)
def models() -> dict[str, Model]:
    """The model table, read once from the package's ``models.json``."""
    rows = json.loads(Path(__file__).with_name("models.json").read_text("utf-8"))
    table = {}
    for row in rows:
        ranges = {}
        for name, spec in row.get("params", {}).items():
            if name == "max_tokens":
                ranges[name] = (1, row["context_window"])
            else:
                ranges[name] = (spec["min"], spec["max"])
        table[row["model"]] = Model(
            row["model"], row["input_usd_per_mtok"], row["output_usd_per_mtok"], row["context_window"], ranges
        )
    return table


def model_info(name: str) -> Model | None:
    """The table row for ``name``, or None for a model the table does not know (still sendable)."""
    return models().get(name)


def param_range(name: str, model: str) -> tuple[float, float]:
    """The range of ``name`` for ``model``: the model's own row, or the general documented range."""
    info = model_info(model)
    if info is not None and name in info.ranges:
        return info.ranges[name]
    p = PARAMS[name]
    return (p.min, p.max)


def supported(name: str, model: str) -> bool:
    """Whether ``model`` documents ``name`` (unknown models are assumed to take every parameter)."""
    info = model_info(model)
    return info is None or name in info.ranges


def _fmt(x) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def coerce(name: str, value):
    """Turn ``value`` (a number or the text a user typed) into the parameter's type, or fail clearly."""
    p = PARAMS.get(name)
    if p is None:
        raise ValidationError(f"unknown parameter {name!r}: use one of {', '.join(PARAMS)}.")
    if isinstance(value, bool):
        raise ValidationError(f"{name}={value!r} is not a number: give a {p.type.__name__}.")
    try:
        if p.type is int:
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                return int(value)
            return int(str(value).strip())
        number = float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
        if not math.isfinite(number):
            raise ValueError
        return number
    except ValueError:
        kind = "a whole number" if p.type is int else "a number"
        raise ValidationError(
            f"{name}={value!r} is not {kind}: give {kind}, e.g. {name}={_fmt(p.default or p.min)}."
        ) from None


def validate(params: dict, model: str) -> dict:
    """Check and coerce every set parameter against ``model``'s ranges; None values are dropped.

    Raises ValidationError naming the parameter, the value and the allowed range, so
    nothing out of range is ever sent.
    """
    clean = {}
    for name, value in params.items():
        if value is None:
            continue
        number = coerce(name, value)
        if not supported(name, model):
            raise ValidationError(
                f"{name} is not a parameter of {model}: leave it unset "
                f"(this model takes {', '.join(model_info(model).ranges)})."
            )
        low, high = param_range(name, model)
        if not (low <= number <= high):
            where = f" for {model}" if model_info(model) is not None else ""
            raise ValidationError(
                f"{name}={_fmt(number)} is out of range{where}: use a value from {_fmt(low)} to {_fmt(high)}."
            )
        clean[name] = number
    return clean


def cost(model: str, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
    """USD cost of one exchange, or None when the price or the usage is unknown."""
    info = model_info(model)
    if info is None or prompt_tokens is None or completion_tokens is None:
        return None
    return info.cost(prompt_tokens, completion_tokens)


def format_cost(cost: float | None) -> str:
    """A cost as the footer and tables show it: $0.000012, $0.0123, or "cost unknown"."""
    if cost is None:
        return "cost unknown"
    if cost == 0:
        return "$0"
    return f"${cost:.6f}" if cost < 0.01 else f"${cost:.4f}"
