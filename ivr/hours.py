"""Business hours and holidays: is a calendar open at a given instant? (pure)

The instant is converted to the calendar's time zone first, so a server running in UTC and a
call centre in Asia/Shanghai agree on what "08:00 Monday" is. A holiday closes the whole local
day, whatever the weekly hours say.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from ivr.model import Calendar


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(calendar: Calendar, now: datetime) -> datetime:
    """``now`` (timezone-aware) in the calendar's zone.

    Raises:
        ValueError: ``now`` is naive (a naive time would silently mean the server's zone).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the IVR clock must return timezone-aware datetimes")
    return now.astimezone(_zone(calendar.timezone))


def is_holiday(calendar: Calendar, now: datetime) -> bool:
    return local_time(calendar, now).date() in calendar.holidays


def is_open(calendar: Calendar, now: datetime) -> bool:
    """Open when the local day is not a holiday and some opening hours cover the local time."""
    local = local_time(calendar, now)
    if local.date() in calendar.holidays:
        return False
    clock = local.time().replace(tzinfo=None)
    weekday = local.weekday()
    return any(weekday in hours.days and hours.start <= clock < hours.end for hours in calendar.hours)


def calendar_state(calendar: Calendar, now: datetime) -> frozenset[str]:
    """The states a ``{calendar: …, is: …}`` condition can test: ``open``, or ``closed`` plus
    ``holiday`` on a holiday."""
    if is_open(calendar, now):
        return frozenset({"open"})
    if is_holiday(calendar, now):
        return frozenset({"closed", "holiday"})
    return frozenset({"closed"})
