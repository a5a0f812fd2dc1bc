"""Branch rules and their conditions, as a flow file writes them and :mod:`ivr.conditions`
evaluates them.

    {field: customer.tier, op: eq, value: vip}    op: eq, ne, in (a list), exists, gt, lt
    {calendar: aftersales, is: closed}           open, closed, holiday
    {all: [...]}  {any: [...]}  {not: ...}
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag, model_validator

from callcenter.schema.base import CUSTOM, Schema, fail
from ivr.fields import ContextKey, NodeRef, Scalar, one_of, scalar

FIELD_OPS = ("eq", "ne", "in", "exists", "gt", "lt")
CALENDAR_STATES = ("open", "closed", "holiday")


class FieldCondition(Schema):
    """``{field: customer.tier, op: eq, value: vip}``; ``exists`` takes ``value: false`` to negate."""

    field: ContextKey
    op: Annotated[str, one_of(*FIELD_OPS)] = "eq"
    value: Scalar | tuple[Scalar, ...] = None

    @model_validator(mode="before")
    @classmethod
    def _value_for_op(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("op", "eq") not in FIELD_OPS:
            return data
        op = data.get("op", "eq")
        raw = data.get("value", True if op == "exists" else None)
        if op == "in":
            if not isinstance(raw, list) or not raw:
                fail("'in' takes a non-empty list of values", "value")
            return {**data, "value": tuple(scalar(v) for v in raw)}
        if op != "exists" and "value" not in data:
            fail(f"'{op}' needs a value", "value")
        if op in ("gt", "lt") and (isinstance(raw, bool) or not isinstance(raw, int | float | str | date)):
            fail(f"'{op}' compares with a number or a date", "value")
        return {**data, "value": scalar(raw)}


class CalendarCondition(Schema):
    """``{calendar: aftersales, is: closed}``: open, closed (outside hours or a holiday), holiday."""

    calendar: NodeRef
    state: Annotated[str, one_of(*CALENDAR_STATES), Field(alias="is")] = "open"


class AllOf(Schema):
    conditions: Annotated[tuple[Condition, ...], Field(alias="all", min_length=1)]


class AnyOf(Schema):
    conditions: Annotated[tuple[Condition, ...], Field(alias="any", min_length=1)]


class Not(Schema):
    condition: Annotated[Condition, Field(alias="not")]


def _condition_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((key for key in ("all", "any", "not", "calendar", "field") if key in value), None)
    return None


Condition = Annotated[
    Annotated[FieldCondition, Tag("field")] | Annotated[CalendarCondition, Tag("calendar")]
    | Annotated[AllOf, Tag("all")] | Annotated[AnyOf, Tag("any")] | Annotated[Not, Tag("not")],
    Discriminator(_condition_kind, custom_error_type=CUSTOM, custom_error_message=(
        "a condition is {field, op, value}, {calendar, is}, {all: […]}, {any: […]} or {not: …}"))]


class Rule(Schema):
    condition: Annotated[Condition, Field(alias="if")]
    next: NodeRef


for _model in (AllOf, AnyOf, Not, Rule):
    _model.model_rebuild()
