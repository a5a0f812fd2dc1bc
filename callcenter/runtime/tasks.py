"""Background work a part starts without waiting for it (AMI actions, row writes): each
failure is reported to the watchdog; the owner can wait for all of it, or cancel it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from callcenter.runtime.watchdog import report_failure


class Tasks:
    def __init__(self) -> None:
        self._running: set[asyncio.Future[None]] = set()

    def spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        task.add_done_callback(report_failure)

    async def wait_idle(self) -> None:
        """Until everything started so far (and what it started) is done."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def cancel_all(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*list(self._running), return_exceptions=True)
