"""One server in control of the calls, the others on standby.

Several instances may run against one database (and one Asterisk). Call control — the AMI
link, the IVR, routing — belongs to whoever holds a PostgreSQL session-level advisory lock on a
dedicated connection. The others wait for the lock; when the leader dies its connection closes,
PostgreSQL releases the lock at once, a standby takes it within ``poll_s`` and starts: it
connects to Asterisk and rebuilds the live calls from ``CoreShowChannels``/``BridgeList`` plus
the stored rows, as any reconnecting server does. A leader that loses its lock connection stops
controlling calls at once (it cannot know whether another has taken over) and exits, so two
never drive Asterisk together. The same lock per Asterisk server (a key per PBX) is the path to
several Asterisk servers: one leader each.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from typing import Any

import asyncpg
import structlog

from callcenter.runtime.supervisor import LoopFailed
from callcenter.settings import Settings, require_ami_secret
from callcenter.store.db import Database, open_database
from callcenter.store.errors import DatabaseUnavailable
from callcenter.store.migrate import migrate

log = structlog.get_logger("callcenter.server.leadership")

# pg_advisory_lock key of call control for the default PBX ("cc" + "ctrl")
CONTROL_LOCK_KEY = 0x6363_6374_726C


class Leadership:
    """The control lock, held on a connection of its own.

    Args:
        pool: where the dedicated connection comes from (it is held, not returned, while leading).
        key: the advisory lock key (one per Asterisk server).
        poll_s: how often a standby tries the lock.
        check_s: how often a leader checks its lock connection is alive.
    """

    def __init__(self, pool: asyncpg.Pool, key: int = CONTROL_LOCK_KEY, *, poll_s: float = 1.0,
                 check_s: float = 1.0) -> None:
        self._pool = pool
        self._key = key
        self._poll_s = poll_s
        self._check_s = check_s
        self._conn: asyncpg.pool.PoolConnectionProxy | None = None

    @property
    def leading(self) -> bool:
        return self._conn is not None

    async def acquire(self) -> None:
        """Wait until this instance holds the lock (tries every ``poll_s``; database errors are
        logged and retried)."""
        announced = False
        while True:
            try:
                conn = await self._pool.acquire()
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                log.warning("leadership_db_unavailable", error=str(exc))
                await asyncio.sleep(self._poll_s)
                continue
            try:
                got = await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key)
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                log.warning("leadership_db_unavailable", error=str(exc))
                got = False
            if got:
                self._conn = conn
                log.info("leadership_taken", key=self._key)
                return
            await self._pool.release(conn)
            if not announced:
                log.info("standby", key=self._key, detail="another instance controls the calls")
                announced = True
            await asyncio.sleep(self._poll_s)

    async def lost(self) -> None:
        """Return when the lock can no longer be trusted (its connection failed)."""
        conn = self._conn
        if conn is None:
            return
        while True:
            await asyncio.sleep(self._check_s)
            try:
                async with asyncio.timeout(self._check_s * 2):  # wait_for may swallow a cancel
                    await conn.fetchval("SELECT 1")
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.error("leadership_lost", error=f"{type(exc).__name__}: {exc}")
                return

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            await conn.fetchval("SELECT pg_advisory_unlock($1)", self._key)
        with contextlib.suppress(Exception):
            await self._pool.release(conn)


async def serve_with_standby(settings: Settings) -> int:
    """``callcenter serve``: wait for the control lock, then run the server until SIGINT/SIGTERM,
    until the AMI login is refused, or until the lock is lost (exit 1: restart as a standby).

    Raises:
        SettingsError: the AMI secret is missing.
    """
    require_ami_secret(settings)  # a bad setting stops us before anything starts
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        database = await open_database(settings.database, settings.state_dir)
    except DatabaseUnavailable as exc:
        log.error("server_stopping", reason=str(exc))
        return 1
    leadership = Leadership(database.pool)
    try:
        await migrate(database.pool)
        if not await _first(leadership.acquire(), stop.wait()):
            return 0
        return await _lead(settings, database, leadership, stop)
    finally:
        await leadership.release()
        await database.close()


async def _lead(settings: Settings, database: Database, leadership: Leadership,
                stop: asyncio.Event) -> int:
    from callcenter.server.build import build_server

    try:
        async with build_server(settings, database) as server:
            log.info("server_started", http=f"http://{settings.http.host}:{server.http_port}",
                     ami=f"{settings.ami.host}:{settings.ami.port}")
            if await _first(stop.wait(), leadership.lost()):
                return 0
            log.error("server_stopping", reason="control lock lost: another instance may take over")
            return 1
    except ExceptionGroup as group:  # a loop failed for good (the AMI login refused, ...)
        failed = group.subgroup(LoopFailed)
        if failed is None:
            raise
        log.error("server_stopping", reason="; ".join(str(e) for e in failed.exceptions))
        return 1


async def _first(wanted: Coroutine[Any, Any, Any], other: Coroutine[Any, Any, Any]) -> bool:
    """Wait for whichever ends first; True when ``wanted`` did (the other is cancelled)."""
    first = asyncio.ensure_future(wanted)
    second = asyncio.ensure_future(other)
    try:
        done, _ = await asyncio.wait({first, second}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (first, second):
            task.cancel()
        await asyncio.gather(first, second, return_exceptions=True)
    return first in done
