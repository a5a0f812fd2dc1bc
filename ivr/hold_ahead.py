"""What the hold has queued on a channel ahead of the call's IVR task, and how long each stretch
of hold music lasts. Kept apart from :mod:`ivr.hold` so the AGI session can carry it without
importing the hold's machinery."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from callcenter.ami.agi import AgiResult


class HoldWait:
    """How long each stretch of hold music lasts: up to ``max_wait`` (then the router is asked
    for the call back; when too late, without limit), and no longer than until the next
    callback offer is due."""

    def __init__(self, max_wait: int | None) -> None:
        self._left = max_wait or None
        self._current: int | None = None

    def next(self, until_offer: int | None) -> int | None:
        limits = [x for x in (self._left, until_offer) if x]
        self._current = min(limits) if limits else None
        return self._current

    def played(self) -> bool:
        """The stretch ended as planned (False: unlimited music ended on its own)."""
        if self._current is None:
            return False
        if self._left is not None:
            self._left -= self._current
        return True

    def over(self) -> bool:
        """``max_wait`` just ran out (once: afterwards the hold goes on without a limit)."""
        if self._left is not None and self._left <= 0:
            self._left = None
            return True
        return False


@dataclass(slots=True)
class HoldAhead:
    """``routed`` and the first stretch of hold music, queued on the channel (their results to
    come), with how long the hold lasts."""

    routed: asyncio.Future[None]
    hold: asyncio.Future[AgiResult]
    wait: HoldWait
    handover: asyncio.Future[None] | None = None  # queues the call once the hold has started
    queued: bool = False  # the call was queued as Asterisk reported the hold's start
    failed: Exception | None = None  # queuing it then raised this
