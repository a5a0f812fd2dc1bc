"""Opening the database: the asyncpg pool, on the configured server or the embedded one.

The configured URL is a secret (it may carry a password): it goes to asyncpg and nowhere else.
Logs and errors use :func:`mask_dsn`; connection failures become
:class:`~callcenter.store.errors.DatabaseUnavailable` naming host, port and database only.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import asyncpg
import structlog

from callcenter.settings import DatabaseSettings
from callcenter.store.embedded import EmbeddedPostgres, start_embedded, stop_embedded
from callcenter.store.errors import DatabaseUnavailable

log = structlog.get_logger("callcenter.store")

_MASK = "********"
_SECRET_PARAMS = frozenset({"password", "passfile", "sslpassword", "sslkey"})

# What asyncpg raises when the server is away, refuses us or breaks the link.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
)
_OPEN_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, ValueError)  # + bad URL


class Database:
    """The pool plus, in embedded mode, the server it runs on. Close it to release both."""

    def __init__(self, pool: asyncpg.Pool, dsn_for_logs: str,
                 embedded: EmbeddedPostgres | None = None, *, owns_embedded: bool = True,
                 connect_url: str = "") -> None:
        self._pool = pool
        self._dsn_for_logs = dsn_for_logs
        self._embedded = embedded
        self._owns_embedded = owns_embedded
        self._connect_url = connect_url
        self._closed = False

    @property
    def connect_url(self) -> str:
        """The URL the pool connects with (a secret: for asyncpg only, never for logs)."""
        return self._connect_url

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    @property
    def dsn_for_logs(self) -> str:
        """The URL with its password masked: safe for logs, errors and ``/healthz``."""
        return self._dsn_for_logs

    @property
    def embedded(self) -> EmbeddedPostgres | None:
        return self._embedded

    async def ping(self, timeout_s: float = 2.0) -> bool:
        """True when a pooled connection answers ``SELECT 1`` in time; never raises (health checks)."""
        try:
            async with asyncio.timeout(timeout_s):
                return bool(await self._pool.fetchval("SELECT 1") == 1)
        except Exception:
            return False

    async def close(self, timeout_s: float = 10.0) -> None:
        """Close the pool (waiting up to ``timeout_s`` for queries in flight), then let go of the
        embedded server. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.wait_for(self._pool.close(), timeout_s)
        except TimeoutError:
            log.warning("database_close_timeout", dsn=self._dsn_for_logs, timeout_s=timeout_s)
            self._pool.terminate()
        finally:
            if self._embedded is not None and self._owns_embedded:
                await stop_embedded(self._embedded)


async def open_database(settings: DatabaseSettings, state_dir: Path, *,
                        connect_timeout_s: float = 10.0) -> Database:
    """Connect the pool to ``settings.url``, or start the embedded server when it is empty.

    Migrations are not run here: call :func:`callcenter.store.migrate.migrate` on ``pool``.

    Args:
        settings: the ``[database]`` settings.
        state_dir: holds ``pgdata/`` for the embedded server.
        connect_timeout_s: per connection attempt.

    Raises:
        DatabaseUnavailable: the server is unreachable or refuses us, or the embedded server
            does not start; the message never contains the password.
    """
    url = settings.url.reveal()
    embedded: EmbeddedPostgres | None = None
    if not url:
        embedded = await start_embedded(state_dir)
        url = embedded.dsn()
    shown = mask_dsn(url)
    try:
        pool = await asyncpg.create_pool(
            url,
            min_size=settings.pool_min,
            max_size=settings.pool_max,
            command_timeout=settings.command_timeout_s,
            timeout=connect_timeout_s,
            server_settings={"application_name": "callcenter"},
        )
    except _OPEN_ERRORS as exc:
        if embedded is not None:
            await stop_embedded(embedded)
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL at {describe_dsn(url)}: {safe_reason(exc, url)}") from None
    log.info("database_open", dsn=shown, embedded=embedded is not None,
             pool_min=settings.pool_min, pool_max=settings.pool_max)
    return Database(pool, shown, embedded, connect_url=url)


def mask_dsn(dsn: str) -> str:
    """``dsn`` with the password (in the user part or the query) replaced by ``********``."""
    try:
        parts = urlsplit(dsn)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user, has_password, _ = userinfo.partition(":")
            netloc = f"{user}:{_MASK}@{hostport}" if has_password else f"{user}@{hostport}"
        query = urlencode([(k, _MASK if k.lower() in _SECRET_PARAMS else v)
                           for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="/*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "postgresql://" + _MASK


def describe_dsn(dsn: str) -> str:
    """``host:port/database`` of a URL (socket directory as host), for error messages."""
    try:
        parts = urlsplit(dsn)
        query = dict(parse_qsl(parts.query))
        host = query.get("host") or parts.hostname or "localhost"
        port = query.get("port") or (str(parts.port) if parts.port else "5432")
        database = query.get("dbname") or unquote(parts.path.lstrip("/")) or parts.username or "postgres"
        return f"{host}:{port}/{database}"
    except ValueError:
        return "<unparsable database URL>"


def safe_reason(exc: BaseException, dsn: str) -> str:
    """``Type: message`` of ``exc`` with any form of the URL's password cut out."""
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    for secret in _passwords(dsn):
        reason = reason.replace(secret, _MASK)
    return reason


def _passwords(dsn: str) -> list[str]:
    try:
        parts = urlsplit(dsn)
        found = [parts.password or ""]
        found += [v for k, v in parse_qsl(parts.query) if k.lower() == "password"]
    except ValueError:
        return []
    secrets = {s for p in found if p for s in (p, unquote(p))}
    return sorted(secrets, key=len, reverse=True)
