"""Time for the server: wall-clock in production, faster than real time for the demo, load
runs and tests (in step with the PBX simulator's time scale)."""

from __future__ import annotations

import asyncio
import time
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
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ScaledClock:
    """``speed`` clock seconds pass per real second, starting from the wall time at creation."""

    def __init__(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = speed
        self._origin = time.time()
        self._start = time.monotonic()

    def now(self) -> float:
        return self._origin + (time.monotonic() - self._start) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


def clock_for(speed: float) -> Clock:
    return WallClock() if speed == 1 else ScaledClock(speed)
