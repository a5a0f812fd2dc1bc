"""Checked scalar types for config files: what YAML or TOML may hold where a number, an integer,
a flag or a line of text is expected (a boolean is not a number, ``"5"`` is not an integer), and
ranges whose message names both bounds."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from callcenter.schema.base import fail


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        fail(f"must be a number, got {value!r}")
    return value


def _integer(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        fail(f"must be an integer, got {value!r}")
    return value


def _flag(value: Any) -> Any:
    if not isinstance(value, bool):
        fail(f"must be true or false, got {value!r}")
    return value


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        fail(f"must be a string, got {value!r}")
    return value


Number = Annotated[float, BeforeValidator(_number)]
Integer = Annotated[int, BeforeValidator(_integer)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Text = Annotated[str, BeforeValidator(_text)]


def between(low: float, high: float) -> AfterValidator:
    """A range check for :data:`Number` or :data:`Integer`: ``Annotated[Integer, between(1, 5)]``."""

    def check(value: float) -> float:
        if not low <= value <= high:
            fail(f"must be between {low:g} and {high:g}, got {value!r}")
        return value

    return AfterValidator(check)


def at_least(low: float) -> AfterValidator:
    """A lower bound only: ``Annotated[Number, at_least(0)]``."""

    def check(value: float) -> float:
        if value < low:
            fail(f"must be >= {low:g}, got {value!r}")
        return value

    return AfterValidator(check)
