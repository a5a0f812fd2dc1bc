"""The top of a flow file (everything but the nodes) and its calendars, as pydantic models.

The nodes are checked one by one by :mod:`ivr.loader` against :mod:`ivr.model`'s node types,
so that a broken node does not hide the problems of the others. Calendars are written for people
(``days: mon-sat``, ``open: "08:00"``, holiday ranges) and become :class:`ivr.model.Calendar`.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PlainValidator, model_validator

from callcenter.schema.base import Schema, fail
from callcenter.schema.fields import Integer, between
from ivr.fields import Language, NodeRef
from ivr.model import Calendar, Limits, OpeningHours

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _days(value: Any) -> frozenset[int]:
    days: set[int] = set()
    for part in value if isinstance(value, list) else [value]:
        first, _, last = str(part).lower().partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            fail(f"{part!r} is not a day or day range such as mon-sat")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if b < a:
            fail(f"{part!r}: the range must run forward (mon-sat)")
        days.update(range(a, b + 1))
    return frozenset(days)


def _time(value: Any) -> time:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60 + 1:
        # YAML 1.1 reads an unquoted 20:00 as the base-60 integer 1200 (minutes)
        hours, minutes = divmod(value, 60)
    else:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value))
        if match is None:
            fail(f"{value!r} is not a time such as '08:00'")
        hours, minutes = int(match[1]), int(match[2])
    if hours == 24 and minutes == 0:
        return time(23, 59, 59, 999999)
    if hours > 23 or minutes > 59:
        fail(f"{value!r} is not a time of day")
    return time(hours, minutes)


def _holiday(item: Any) -> tuple[date, ...]:
    if isinstance(item, date):
        return (item,)
    first, sep, last = str(item).partition("..")
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if sep else start
    except ValueError:
        fail(f"{item!r} is not a date (YYYY-MM-DD) or range (YYYY-MM-DD..YYYY-MM-DD)")
    if end < start or (end - start).days > 366:
        fail(f"{item!r} is not a forward range of at most a year")
    return tuple(start + timedelta(days=n) for n in range((end - start).days + 1))


def _zone(value: Any) -> str:
    if not isinstance(value, str):
        fail("missing (an IANA zone such as Asia/Shanghai)")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"unknown time zone {value!r}")
    return value


class Hours(Schema):
    """``{days: mon-sat, open: "08:00", close: "20:00"}``; overnight hours are two entries."""

    days: Annotated[frozenset[int], PlainValidator(_days)]
    open: Annotated[time, PlainValidator(_time)]
    close: Annotated[time, PlainValidator(_time)]

    @model_validator(mode="after")
    def _forward(self) -> Hours:
        if self.close <= self.open:
            fail("closes before it opens (overnight hours: use two entries)", "close")
        return self


class CalendarFile(Schema):
    timezone: Annotated[str, PlainValidator(_zone)]
    hours: Annotated[tuple[Hours, ...], Field(min_length=1)]
    holidays: tuple[Annotated[tuple[date, ...], PlainValidator(_holiday)], ...] = ()

    def calendar(self, name: str) -> Calendar:
        hours = tuple(OpeningHours(h.days, h.open, h.close) for h in self.hours)
        return Calendar(name, self.timezone, hours, frozenset(d for days in self.holidays for d in days))


class FlowFile(Schema):
    """A flow file: ``nodes`` maps node ids to node mappings (checked by the loader)."""

    kind: Literal["flow"] = "flow"
    id: NodeRef
    version: Annotated[Integer, between(1, 10**9)]
    description: str = ""
    default_language: Language
    languages: Annotated[tuple[Language, ...], Field(min_length=1)]
    entry: NodeRef
    fallback: NodeRef | None = None
    limits: Limits = Field(default_factory=Limits)
    calendars: dict[str, CalendarFile] = Field(default_factory=dict)
    nodes: Annotated[dict[Any, Any], Field(min_length=1)]
