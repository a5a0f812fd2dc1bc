"""``build_server``: the server on its database, started and stopped as one context."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from callcenter.clock import Clock, WallClock
from callcenter.metrics import Metrics
from callcenter.runtime.watchdog import install_loop_handler
from callcenter.server.parts import start_parts
from callcenter.server.resync import Server
from callcenter.settings import Settings, require_ami_secret
from callcenter.store.db import Database, open_database
from callcenter.store.migrate import migrate
from callcenter.store.roles import restricted_database


@contextlib.asynccontextmanager
async def build_server(settings: Settings, database: Database | None = None,
                       clock: Clock | None = None) -> AsyncIterator[Server]:
    """Start every part; yields the running server and stops everything on exit.

    Args:
        settings: validated settings.
        database: an open database to use (the demo opens it first to seed it); opened and
            closed here when None.
        clock: the server's time (scaled in the demo and load runs).
    """
    require_ami_secret(settings)
    clock = clock or WallClock()
    metrics = Metrics()
    install_loop_handler(metrics)
    owns_database = database is None
    database = database or await open_database(settings.database, settings.state_dir)
    try:
        await migrate(database.pool)
        restricted = await restricted_database(database, settings.database)
        try:
            async with start_parts(settings, restricted, metrics, clock) as server:
                yield server
        finally:
            if restricted is not database:
                await restricted.close()
    finally:
        if owns_database:
            await database.close()
