"""The append-only tables refuse TRUNCATE (naming the right table), and the server runs as a
role that cannot alter, drop or truncate, nor rewrite what it only appends to: with a
configured database (DATABASE_URL) and with the embedded PostgreSQL."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from callcenter.server.build import build_server
from callcenter.settings import DatabaseSettings, Secret
from callcenter.store.db import open_database
from callcenter.store.migrate import migrate
from callcenter.store.roles import restricted_database
from tests.amifake import FakeAmi
from tests.integration.test_serve import settings_for


@pytest.mark.parametrize("table", ["audit_log", "call_events"])
async def test_truncate_of_an_append_only_table_is_refused_with_its_name(
        pool: asyncpg.Pool, table: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match=f"^{table} is append-only: TRUNCATE"):
        await pool.execute(f"TRUNCATE {table}")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match=f"^{table} is append-only: DELETE"):
        await pool.execute(f"DELETE FROM {table}")


async def assert_restricted(pool: asyncpg.Pool) -> None:
    user = await pool.fetchval("SELECT current_user")
    assert user.endswith("_app")
    for statement in ("TRUNCATE audit_log", "TRUNCATE call_events", "TRUNCATE calls CASCADE",
                      "DROP TABLE audit_log", "DROP TABLE calls CASCADE", "ALTER TABLE audit_log DISABLE TRIGGER ALL",
                      "ALTER TABLE call_events DROP CONSTRAINT call_events_identity",
                      "UPDATE audit_log SET actor = 'x'", "DELETE FROM call_events",
                      "CREATE TABLE evil (id int)", "DELETE FROM schema_migrations",
                      "SELECT * FROM callcenter_private.app_role"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pool.execute(statement)
    # what the server does every day still works
    await pool.execute("INSERT INTO audit_log (actor, action) VALUES ('t', 'test')")
    await pool.execute("INSERT INTO calls (linkedid, state, arrived_at) VALUES ('r.1', 'ivr', now())"
                       " ON CONFLICT (linkedid) DO NOTHING")
    await pool.execute("UPDATE calls SET state = 'queued' WHERE linkedid = 'r.1'")


async def test_the_server_connects_as_a_restricted_role_with_database_url(db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami, build_server(settings_for(ami.port, db_url, tmp_path)) as server:
        await assert_restricted(server.database.pool)
    owner = await asyncpg.connect(db_url)
    try:
        assert not (await owner.fetchval("SELECT current_user")).endswith("_app")
    finally:
        await owner.close()


async def test_a_second_start_reuses_the_role_and_a_provisioned_app_url_is_used_as_given(
        db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami, build_server(settings_for(ami.port, db_url, tmp_path)) as first:
        role = await first.database.pool.fetchval("SELECT current_user")
        owner = await asyncpg.connect(db_url)
        try:
            password = await owner.fetchval("SELECT password FROM callcenter_private.app_role")
        finally:
            await owner.close()
        # a second instance on the same database (scale-out) logs in with the same role
        async with build_server(settings_for(ami.port, db_url, tmp_path / "b")) as second:
            assert await second.database.pool.fetchval("SELECT current_user") == role
            assert (await first.database.pool.fetchval("SELECT 1")) == 1
    parts = urlsplit(db_url)
    app_url = urlunsplit(parts._replace(netloc=f"{role}:{password}@{parts.netloc.rpartition('@')[2]}"))
    settings = settings_for(1, db_url, tmp_path)
    settings = dataclasses.replace(settings, database=dataclasses.replace(
        settings.database, app_url=Secret(app_url)))
    owner_db = await open_database(settings.database, tmp_path)
    try:
        restricted = await restricted_database(owner_db, settings.database)
        try:
            await assert_restricted(restricted.pool)
        finally:
            await restricted.close()
    finally:
        await owner_db.close()


async def test_the_embedded_postgres_runs_the_server_as_a_restricted_role(tmp_path: Path) -> None:
    owner = await open_database(DatabaseSettings(), tmp_path)
    try:
        await migrate(owner.pool)
        restricted = await restricted_database(owner, DatabaseSettings())
        try:
            assert restricted is not owner
            await assert_restricted(restricted.pool)
        finally:
            await restricted.close()
        assert await owner.pool.fetchval("SELECT 1") == 1  # the embedded server still runs
    finally:
        await owner.close()
