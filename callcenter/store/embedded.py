"""The embedded PostgreSQL (pgserver) used when no database URL is configured.

``callcenter demo`` and a bare ``callcenter serve`` must work with nothing installed but the
package, so the server runs PostgreSQL 16 from the ``pgserver`` wheel in ``<state_dir>/pgdata``.
It listens on a Unix socket only (no TCP port to collide with or to expose).

Running as root: PostgreSQL refuses to run as root, and pgserver knows it. As root it creates
(once, with ``useradd``) a system user ``pgserver``, gives it the data directory, makes the
directories above it traversable (``o+rx``) and runs ``initdb``/``pg_ctl`` as that user. So the
state directory must be on a filesystem where that user can be given files (not a root-squashed
NFS mount), and its parents become world-traversable.

Handles are counted: pgserver across processes (a ``.handle_pids.json`` file in pgdata, the
server stops when the last process lets go) and this module within one process (several
:class:`~callcenter.store.db.Database` objects may share one server). The pgserver calls block
(initdb, pg_ctl), so the async functions run them in a thread.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import re
import subprocess
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg

from callcenter.store.errors import DatabaseUnavailable

APP_DATABASE = "callcenter"
"""The database the application uses inside the embedded server (``postgres`` stays clean)."""

_SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_lock = threading.Lock()
_handles: dict[Path, int] = {}


@dataclass(frozen=True, slots=True)
class EmbeddedPostgres:
    """A running embedded server: where its data and socket are. Get one from :func:`start_embedded`."""

    pgdata: Path
    socket_dir: Path
    port: int
    server: Any  # pgserver.PostgresServer (untyped library)

    def dsn(self, database: str = APP_DATABASE) -> str:
        """An asyncpg/libpq URL to ``database`` over the Unix socket (trust auth, no password)."""
        host = quote(str(self.socket_dir), safe="/")
        return f"postgresql://postgres@/{quote(database)}?host={host}&port={self.port}"

    @property
    def log_file(self) -> Path:
        return self.pgdata / "log"


def _import_pgserver() -> Any:
    # pgserver reads the runtime dir at import; without XDG_RUNTIME_DIR (services, containers)
    # platformdirs warns and falls back to /tmp/runtime-<uid>, which is fine for its lock file.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver
    pg_logger = logging.getLogger("pgserver")
    if pg_logger.level == logging.NOTSET:
        pg_logger.setLevel(logging.WARNING)  # its INFO lines echo every command line it runs
    return pgserver


def _forget_dead_handles(pgserver: Any, pgdata: Path) -> None:
    """Drop pids of processes that died without letting go (SIGKILL, OOM), so the server still
    stops when the last live process closes it."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    with pgserver.PostgresServer._lock:
        pids = pgserver.utils.DiskList(handles)
        alive = [pid for pid in pids.get() if isinstance(pid, int) and pid > 0 and _pid_alive(pid)]
        pids.put(alive)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_embedded_sync(pgdata: Path) -> EmbeddedPostgres:
    """Start (or join) the server in ``pgdata``; blocking: initdb on first use, then pg_ctl.

    Raises:
        DatabaseUnavailable: the server did not start (the message points at its log file).
    """
    pgdata = pgdata.expanduser().resolve()
    pgserver = _import_pgserver()
    with _lock:
        try:
            pgdata.parent.mkdir(parents=True, exist_ok=True)
            _forget_dead_handles(pgserver, pgdata)
            server = pgserver.get_server(pgdata, cleanup_mode="stop")
            info = server.get_postmaster_info()
        except (OSError, subprocess.SubprocessError, AssertionError, RuntimeError) as exc:
            raise DatabaseUnavailable(
                f"cannot start the embedded PostgreSQL in {pgdata}: {type(exc).__name__}: {exc}"
                f" (see {pgdata / 'log'})") from exc
        _handles[pgdata] = _handles.get(pgdata, 0) + 1
    socket_dir = Path(info.socket_dir) if info.socket_dir is not None else pgdata
    return EmbeddedPostgres(pgdata, socket_dir, int(info.port or 5432), server)


def stop_embedded_sync(embedded: EmbeddedPostgres) -> None:
    """Let go of the server; the last handle in the last process stops it. Blocking."""
    with _lock:
        count = _handles.get(embedded.pgdata, 0) - 1
        if count > 0:
            _handles[embedded.pgdata] = count
            return
        _handles.pop(embedded.pgdata, None)
        server = embedded.server
        try:
            server.cleanup()  # pg_ctl -w stop, unless another process still holds it
        finally:
            # pgserver keeps the object (and an atexit hook) per pgdata; forget both so that a
            # later start in this process starts the server again instead of reusing a stale one.
            atexit.unregister(server._cleanup)
            type(server)._instances.pop(embedded.pgdata, None)


async def start_embedded(state_dir: Path, database: str = APP_DATABASE) -> EmbeddedPostgres:
    """Start the server in ``<state_dir>/pgdata`` and make sure ``database`` exists in it.

    Raises:
        DatabaseUnavailable: the server did not start or does not accept connections.
    """
    if not _SAFE_NAME.match(database):
        raise ValueError(f"database name must match {_SAFE_NAME.pattern}: {database!r}")
    embedded = await asyncio.to_thread(start_embedded_sync, Path(state_dir) / "pgdata")
    try:
        await _ensure_database(embedded, database)
    except BaseException:
        await asyncio.shield(asyncio.to_thread(stop_embedded_sync, embedded))
        raise
    return embedded


async def stop_embedded(embedded: EmbeddedPostgres) -> None:
    """Async :func:`stop_embedded_sync` (pg_ctl stop runs in a thread)."""
    await asyncio.to_thread(stop_embedded_sync, embedded)


async def _ensure_database(embedded: EmbeddedPostgres, database: str) -> None:
    try:
        conn = await asyncpg.connect(embedded.dsn("postgres"), timeout=30)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseUnavailable(
            f"the embedded PostgreSQL in {embedded.pgdata} does not accept connections:"
            f" {type(exc).__name__}: {exc} (see {embedded.log_file})") from exc
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                # another process created it first
                await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
