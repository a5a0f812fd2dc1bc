"""Time for the server: wall-clock in production, faster than real time for the demo, load
runs and tests (in step with the PBX simulator's time scale).

This is the only module that reads the system's wall clock (a lint rule bans ``time.time()``
and ``datetime.now()`` elsewhere): everything else is handed a :class:`Clock`, or its ``now``,
by whoever builds it. Durations measured in real time use ``time.monotonic()``.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    speed: float  # clock seconds per real second

    def now(self) -> float:
        """Seconds since the epoch, in this clock's time."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class WallClock:
    speed = 1.0

    def now(self) -> float:
        return wall_time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ScaledClock:
    """``speed`` clock seconds pass per real second, starting from the wall time at creation."""

    def __init__(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = speed
        self._origin = wall_time()
        self._start = time.monotonic()

    def now(self) -> float:
        return self._origin + (time.monotonic() - self._start) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


def clock_for(speed: float) -> Clock:
    return WallClock() if speed == 1 else ScaledClock(speed)


def wall_time() -> float:
    """The system's wall clock, in seconds since the epoch (what Asterisk's ``${EPOCH}`` and
    PostgreSQL's ``now()`` see). The default ``now`` of objects built without a server clock."""
    return time.time()


def utc(seconds: float) -> datetime:
    """A clock's reading as an aware UTC datetime (for timestamps stored or shown)."""
    return datetime.fromtimestamp(seconds, UTC)
