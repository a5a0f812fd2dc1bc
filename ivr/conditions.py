"""Branch conditions against the call context and the clock (pure).

Values compare as numbers when both sides read as numbers (``5`` and ``"5"``), otherwise as
text; ``gt``/``lt`` on text are meant for ISO dates (``2026-11-23``). A missing field is
never equal, greater or less than anything, and is ``ne`` everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ivr.hours import calendar_state
from ivr.model import Calendar, Scalar
from ivr.rules import AllOf, AnyOf, CalendarCondition, Condition, FieldCondition, Not


def evaluate(condition: Condition, context: Mapping[str, Scalar], calendars: Mapping[str, Calendar],
             now: datetime) -> bool:
    if isinstance(condition, FieldCondition):
        return _field(condition, context.get(condition.field))
    if isinstance(condition, CalendarCondition):
        calendar = calendars.get(condition.calendar)
        return calendar is not None and condition.state in calendar_state(calendar, now)
    if isinstance(condition, AllOf):
        return all(evaluate(c, context, calendars, now) for c in condition.conditions)
    if isinstance(condition, AnyOf):
        return any(evaluate(c, context, calendars, now) for c in condition.conditions)
    if isinstance(condition, Not):
        return not evaluate(condition.condition, context, calendars, now)
    return False


def _field(condition: FieldCondition, actual: Scalar) -> bool:
    present = actual is not None and actual != ""
    op, expected = condition.op, condition.value
    if op == "exists":
        return present == bool(expected)
    if op == "ne":
        if not present:
            return True
        if isinstance(expected, tuple):
            return not any(_equal(actual, item) for item in expected)
        return not _equal(actual, expected)
    if not present:
        return False
    if op == "eq":
        return not isinstance(expected, tuple) and _equal(actual, expected)
    if op == "in":
        return isinstance(expected, tuple) and any(_equal(actual, item) for item in expected)
    if op in ("gt", "lt") and not isinstance(expected, tuple):
        order = _compare(actual, expected)
        return order is not None and (order > 0 if op == "gt" else order < 0)
    return False


def _number(value: Scalar) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return None


def _equal(actual: Scalar, expected: Scalar) -> bool:
    a, b = _number(actual), _number(expected)
    if a is not None and b is not None:
        return a == b
    if isinstance(actual, bool) or isinstance(expected, bool):
        return str(actual).lower() == str(expected).lower()
    return str(actual) == str(expected)


def _compare(actual: Scalar, expected: Scalar) -> int | None:
    a, b = _number(actual), _number(expected)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    if isinstance(actual, str) and isinstance(expected, str):
        return (actual > expected) - (actual < expected)
    return None
