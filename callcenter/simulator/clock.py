"""Simulated time.

Every timer of the simulator (ring timeouts, prompt lengths, scripted parties) runs on a
:class:`Clock`. Time is in simulated seconds since the simulator started.

:class:`ScaledClock` follows the event loop's clock multiplied by ``time_scale``; a timer's
callback sees ``now()`` equal to the time the timer was *due*, not the time the loop got round to
it, so recordings and durations stay exact even when the loop is late. :class:`ManualClock` only
moves when told to, for unit tests of the pure parts.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("callcenter.simulator")


class Timer:
    """A scheduled callback; :meth:`cancel` is safe to call at any time, more than once."""

    __slots__ = ("_handle", "cancelled", "due")

    def __init__(self, due: float) -> None:
        self.due = due
        self.cancelled = False
        self._handle: asyncio.TimerHandle | None = None

    def cancel(self) -> None:
        self.cancelled = True
        if self._handle is not None:
            self._handle.cancel()


class Clock(Protocol):
    start_epoch: float

    def now(self) -> float:
        """Simulated seconds since the start."""
        ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` ``delay`` simulated seconds from now."""
        ...


def epoch(clock: Clock) -> float:
    """Simulated wall-clock time (for Uniqueids and Ping's Timestamp)."""
    return clock.start_epoch + clock.now()


def _run(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # a scripted party's bug must not stop the PBX
        log.exception("simulator timer callback failed")


class ScaledClock:
    """``time_scale`` simulated seconds pass per real second.

    Args:
        time_scale: e.g. 10 runs ten simulated seconds in one real second.
        start_epoch: the simulated wall-clock time at start (default: the real time).
    """

    def __init__(self, time_scale: float = 1.0, start_epoch: float | None = None) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = time_scale
        self.start_epoch = time.time() if start_epoch is None else start_epoch
        self._loop: asyncio.AbstractEventLoop | None = None
        self._t0 = 0.0
        self._pinned: float | None = None
        self._high = 0.0

    def start(self) -> None:
        """Start counting (idempotent; the first timer starts the clock too)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._t0 = self._loop.time()

    def now(self) -> float:
        if self._pinned is not None:
            return self._pinned
        if self._loop is not None:
            self._high = max(self._high, (self._loop.time() - self._t0) * self.time_scale)
        return self._high

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        if self._loop is None:
            self.start()
        assert self._loop is not None
        timer = Timer(self.now() + max(0.0, delay))

        def fire() -> None:
            if timer.cancelled:
                return
            previous = self._pinned
            self._pinned = self._high = max(timer.due, self._high)
            try:
                _run(callback)
            finally:
                self._pinned = previous

        timer._handle = self._loop.call_at(self._t0 + timer.due / self.time_scale, fire)
        return timer


class ManualClock:
    """A clock that moves only on :meth:`advance` (unit tests)."""

    def __init__(self, start_epoch: float = 1_795_000_000.0) -> None:
        self.start_epoch = start_epoch
        self._now = 0.0
        self._queue: list[tuple[float, int, Timer, Callable[[], None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(self._now + max(0.0, delay))
        heapq.heappush(self._queue, (timer.due, next(self._seq), timer, callback))
        return timer

    def advance(self, seconds: float) -> None:
        """Run every timer due within ``seconds``, in order, each at its own due time."""
        end = self._now + seconds
        while self._queue and self._queue[0][0] <= end + 1e-9:
            due, _, timer, callback = heapq.heappop(self._queue)
            if timer.cancelled:
                continue
            self._now = max(self._now, due)
            _run(callback)
        self._now = end

    def run_until_idle(self, limit: float = 3600.0) -> None:
        """Advance until no timer is left (or ``limit`` seconds passed)."""
        end = self._now + limit
        while self._queue and self._queue[0][0] <= end:
            self.advance(max(0.0, self._queue[0][0] - self._now))


async def sleep(clock: Clock, seconds: float) -> None:
    """Wait ``seconds`` of simulated time."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake() -> None:
        if not future.done():
            future.set_result(None)

    timer = clock.call_later(seconds, wake)
    try:
        await future
    finally:
        timer.cancel()
