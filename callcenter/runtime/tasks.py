"""Background work a part starts without waiting for it (AMI actions, row writes): each
failure is reported to the watchdog (and to the owner's ``on_failure``, to count it); the owner
can wait for all of it, or cancel it on shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from callcenter.runtime.watchdog import report_failure


class Tasks:
    """Args:
        on_failure: called with each exception a task ended with (a counter).
        redact: failures are logged by error type only (the work's errors may echo what it
            wrote: words of a call, audio).
    """

    def __init__(self, on_failure: Callable[[BaseException], None] | None = None, *,
                 redact: bool = False) -> None:
        self._running: set[asyncio.Future[Any]] = set()
        self._on_failure = on_failure
        self._redact = redact

    def __len__(self) -> int:
        return len(self._running)

    def spawn(self, work: Awaitable[object]) -> None:
        task = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[Any]) -> None:
        self._running.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is None:
            return
        if self._on_failure is not None:
            self._on_failure(error)
        report_failure(task, redact=self._redact)

    async def wait_idle(self) -> None:
        """Until everything started so far (and what it started) is done."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def cancel_all(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*list(self._running), return_exceptions=True)
