"""The server runs as a database role that cannot alter, drop or truncate anything.

Migrations need the owner of the schema; the running server does not, and must not: a bug or
an injected statement in the server must not be able to ``DROP``, ``ALTER`` or ``TRUNCATE``, nor
rewrite the append-only tables (``call_events``, ``audit_log``: ``SELECT`` and ``INSERT`` only).

:func:`restricted_database` takes the owner's open :class:`Database` (after migrations) and
returns one whose pool logs in as the application role:

- ``database.app_url`` set: that URL is used as it is (a role the DBA provisioned; see
  docs/security.md for the grants);
- otherwise the owner provisions the role itself (it needs ``CREATEROLE`` or superuser, as with
  the embedded PostgreSQL): ``<database>_app`` (or ``database.app_role``), ``LOGIN``, never an
  owner; its password is random, kept in the schema ``callcenter_private`` that only the owner
  can read, so every instance sharing the database logs in with it;
- the grants are renewed at each start (after migrations, so new tables are covered);
- an owner that may not create roles gets a logged warning and the server runs as the owner.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog

from callcenter.settings import DatabaseSettings
from callcenter.store.db import Database, mask_dsn

log = structlog.get_logger("callcenter.store")

APPEND_ONLY = ("call_events", "audit_log")
ROLE_LOCK_ID = 0x63616C6C_726F6C65  # "callrole"
_SAFE = re.compile(r"[^a-z0-9_]")


def app_role_name(database: str, configured: str = "") -> str:
    name = configured or f"{_SAFE.sub('_', database.lower())[:50]}_app"
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"database.app_role must be a plain lower-case name, not {name!r}")
    return name


def _grants(role: str, database: str) -> list[str]:
    q = f'"{role}"'
    return [
        f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {q}',
        f"GRANT USAGE ON SCHEMA public TO {q}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {q}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {', '.join(APPEND_ONLY)} FROM {q}",
        f"REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM {q}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {q}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {q}",
    ]


async def provision(conn: asyncpg.Connection, role: str) -> str | None:
    """Create or refresh the role and its grants; returns its password (None: not allowed)."""
    may = await conn.fetchval(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
    if not may:
        return None
    database = await conn.fetchval("SELECT current_database()")
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", ROLE_LOCK_ID)
        await conn.execute("CREATE SCHEMA IF NOT EXISTS callcenter_private")
        await conn.execute("REVOKE ALL ON SCHEMA callcenter_private FROM PUBLIC")
        await conn.execute("CREATE TABLE IF NOT EXISTS callcenter_private.app_role"
                           " (role text PRIMARY KEY, password text NOT NULL)")
        password = await conn.fetchval(
            "SELECT password FROM callcenter_private.app_role WHERE role = $1", role)
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        if password is None or not exists:
            password = secrets.token_hex(24)
            verb = "ALTER" if exists else "CREATE"
            await conn.execute(f"{verb} ROLE \"{role}\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
                               f" NOINHERIT PASSWORD '{password}'")
            await conn.execute(
                "INSERT INTO callcenter_private.app_role (role, password) VALUES ($1, $2)"
                " ON CONFLICT (role) DO UPDATE SET password = EXCLUDED.password", role, password)
        for statement in _grants(role, database):
            await conn.execute(statement)
    return str(password)


async def restricted_database(owner: Database, settings: DatabaseSettings) -> Database:
    """A :class:`Database` on the same server whose pool logs in as the application role; the
    owner's when that is not possible (logged). Close it before the owner's."""
    if not settings.run_as_app_role:
        return owner
    app_url = settings.app_url.reveal()
    async with owner.pool.acquire() as conn:
        database = await conn.fetchval("SELECT current_database()")
        role = app_role_name(database, settings.app_role)
        if app_url:
            password = None
        else:
            try:
                password = await provision(conn, role)
            except asyncpg.InsufficientPrivilegeError:
                password = None
            if password is None:
                log.warning("database_running_as_owner", reason="the owner may not create roles;"
                            " set database.app_url to a restricted role (docs/security.md)")
                return owner
    url = app_url or owner.connect_url
    pool = await asyncpg.create_pool(
        url, **({} if app_url else {"user": role, "password": password}),
        min_size=settings.pool_min, max_size=settings.pool_max,
        command_timeout=settings.command_timeout_s,
        server_settings={"application_name": "callcenter"})
    shown = mask_dsn(app_url) if app_url else _with_user(owner.dsn_for_logs, role)
    log.info("database_role", role=await pool.fetchval("SELECT current_user"), dsn=shown)
    return Database(pool, shown, owner.embedded, owns_embedded=False, connect_url=url)


def _with_user(dsn: str, user: str) -> str:
    parts = urlsplit(dsn)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}:********@{host}", parts.path, parts.query, parts.fragment))
