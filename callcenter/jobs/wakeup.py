"""Waking an idle worker as soon as a job of its kind is queued, instead of at its next poll.

:meth:`~callcenter.jobs.queue.JobQueue.enqueue` sends ``NOTIFY cc_jobs, '<kind>'`` in the
statement that queues the job (delivered when that transaction commits); an idle worker
LISTENs on one connection of its own and claims at once. Polling stays as the safety net: a job
whose retry comes due, a notification lost with the listening connection, a database that does
not deliver them (a pooler in transaction mode) are all found at the next ``idle_s`` poll. The
listening connection is opened again on the next wait after it was lost.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

log = structlog.get_logger("callcenter.jobs.wakeup")

CHANNEL = "cc_jobs"
_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


class JobWakeup:
    """Args:
        pool: where the listening connection comes from (held while listening).
        kind: the job kind that wakes this worker.
    """

    def __init__(self, pool: asyncpg.Pool, kind: str) -> None:
        self._pool = pool
        self._kind = kind
        self._queued = asyncio.Event()
        self._conn: asyncpg.Connection | None = None

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    def clear(self) -> None:
        """Before a claim: only jobs queued from now on wake the next wait."""
        self._queued.clear()

    async def wait(self, stop: asyncio.Event, idle_s: float) -> None:
        """Until a job of the kind is queued, ``stop`` is set, or ``idle_s`` passed."""
        if not self.listening:
            await self._listen()
        waits = [asyncio.ensure_future(self._queued.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, timeout=idle_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(*_DB_ERRORS):
            await conn.remove_listener(CHANNEL, self._notified)
        with contextlib.suppress(*_DB_ERRORS):
            await self._pool.release(conn)

    async def _listen(self) -> None:
        await self.close()
        try:
            conn = await self._pool.acquire()
        except _DB_ERRORS as exc:
            log.warning("job_wakeup_unavailable", kind=self._kind, error=f"{type(exc).__name__}: {exc}")
            return
        try:
            await conn.add_listener(CHANNEL, self._notified)
        except _DB_ERRORS as exc:
            log.warning("job_wakeup_unavailable", kind=self._kind, error=f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(*_DB_ERRORS):
                await self._pool.release(conn)
            return
        self._conn = conn

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload == self._kind:
            self._queued.set()
