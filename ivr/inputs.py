"""What a ``collect`` accepts: the named input validators (pure).

``accept(rule, digits)`` returns the value to store (normalised: a date becomes ``YYYY-MM-DD``)
or None when the caller's digits are not acceptable. Digits are ASCII ``0-9`` only: ``*`` and
``#`` never make it into a stored value.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from ivr.model import InputRule

VALIDATORS = ("order_number", "phone", "digits", "date", "score")
DEFAULT_ORDER_NUMBER = r"[0-9]{6,12}"
_DIGITS = re.compile(r"[0-9]+")
_PHONE = re.compile(r"[0-9]{5,20}")


@lru_cache(maxsize=128)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def rule_problem(rule: InputRule) -> str | None:
    """Why a validator definition is unusable (for :mod:`ivr.validate`), or None."""
    if rule.name not in VALIDATORS:
        return f"unknown validator {rule.name!r} (known: {', '.join(VALIDATORS)})"
    if rule.pattern is not None:
        if rule.name != "order_number":
            return f"'pattern' only applies to order_number, not {rule.name}"
        try:
            _compiled(rule.pattern)
        except re.error as exc:
            return f"pattern {rule.pattern!r} is not a regular expression: {exc}"
    if (rule.minimum is not None or rule.maximum is not None) and rule.name != "score":
        return f"'min'/'max' only apply to score, not {rule.name}"
    if rule.name == "score":
        low, high = score_bounds(rule)
        if low > high:
            return f"score min {low} is above max {high}"
    return None


def score_bounds(rule: InputRule) -> tuple[int, int]:
    return (1 if rule.minimum is None else rule.minimum, 5 if rule.maximum is None else rule.maximum)


def accept(rule: InputRule | None, digits: str) -> str | None:
    """The value to store for ``digits``, or None when they are not acceptable."""
    if not _DIGITS.fullmatch(digits):
        return None
    if rule is None or rule.name == "digits":
        return digits
    if rule.name == "order_number":
        try:
            pattern = _compiled(rule.pattern or DEFAULT_ORDER_NUMBER)
        except re.error:
            return None
        return digits if pattern.fullmatch(digits) else None
    if rule.name == "phone":
        return digits if _PHONE.fullmatch(digits) else None
    if rule.name == "date":
        return _date(digits)
    if rule.name == "score":
        low, high = score_bounds(rule)
        if len(digits) > 3:
            return None
        return str(int(digits)) if low <= int(digits) <= high else None
    return None


def _date(digits: str) -> str | None:
    """``YYYYMMDD`` → ``YYYY-MM-DD`` when it is a real calendar date."""
    if len(digits) != 8:
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:])).isoformat()
    except ValueError:
        return None
