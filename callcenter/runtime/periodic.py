"""``periodic()``: the one way a part does something again and again (flush a buffer, sweep a
directory, fire due timers, send a heartbeat).

A turn that raises one of ``retry_on`` is logged once per outage and tried again (after the
``backoff`` when one is given, else at the usual interval); recovery is logged too. Any other
exception leaves the loop: the supervisor counts it and starts the loop again, or stops the
server when it keeps failing. Each successful turn is reported to the supervisor, which shows
the age of the last one in ``/healthz`` and ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from callcenter.runtime.supervisor import turn_failed, turned

log = structlog.get_logger("callcenter.runtime.periodic")

Interval = float | Callable[[], float]


@dataclass(frozen=True, slots=True)
class Backoff:
    """The waits after failed turns: ``first_s``, doubling up to ``max_s`` (default: no
    growth). Only ``wake`` (when given) cuts such a wait short, not the loop's own wake."""

    first_s: float
    max_s: float | None = None
    wake: asyncio.Event | None = None

    def after(self, failures: int) -> float:
        """The wait after ``failures`` failed turns in a row (1 or more)."""
        top = self.first_s if self.max_s is None else self.max_s
        return min(self.first_s * float(2 ** min(failures - 1, 30)), top)


async def periodic(name: str, interval_s: Interval, turn: Callable[[], Awaitable[object]], *,
                   wake: asyncio.Event | None = None, first_wait: bool = True,
                   retry_on: tuple[type[Exception], ...] = (Exception,),
                   backoff: Backoff | None = None, until: Callable[[], bool] | None = None) -> None:
    """Run ``turn()`` every ``interval_s`` seconds until ``until()`` (forever when None).

    Args:
        name: the loop's name in the logs.
        interval_s: seconds between turns, or a function giving the next wait (<= 0: at once).
        wake: cuts a wait short when set; cleared just before each turn.
        first_wait: wait before the first turn (else the first turn runs at once).
        retry_on: the failures a turn may have and the loop survives.
        backoff: the waits after failed turns (default: the usual interval and wake).
        until: checked before each turn; the loop returns once it is true.
    """
    failing = 0
    wait = first_wait
    while until is None or not until():
        if wait:
            retrying = failing and backoff is not None
            delay = backoff.after(failing) if retrying and backoff else _seconds(interval_s)
            await _pause(delay, backoff.wake if retrying and backoff else wake)
            if until is not None and until():
                return
        wait = True
        if wake is not None:
            wake.clear()
        try:
            await turn()
        except retry_on as exc:
            failing += 1
            turn_failed()
            if failing == 1:
                log.warning("loop_turn_failed", loop=name, error=f"{type(exc).__name__}: {exc}"[:300])
            continue
        turned()
        if failing:
            log.info("loop_recovered", loop=name, failed_turns=failing)
        failing = 0


def _seconds(interval_s: Interval) -> float:
    return interval_s() if callable(interval_s) else interval_s


async def _pause(delay: float, wake: asyncio.Event | None) -> None:
    if delay <= 0:
        await asyncio.sleep(0)
    elif wake is None:
        await asyncio.sleep(delay)
    else:  # not wait_for: it may swallow a cancel that comes as the event is set
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await wake.wait()
