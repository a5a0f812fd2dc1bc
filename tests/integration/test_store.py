"""The storage layer against a real PostgreSQL: migrations, the append-only event log and its
batched writer through outages, the embedded server, and secrets kept out of errors."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
import structlog.testing

from callcenter.settings import DatabaseSettings, Secret
from callcenter.store.db import Database, describe_dsn, mask_dsn, open_database
from callcenter.store.errors import BufferFull, DatabaseUnavailable, MigrationError
from callcenter.store.events import EventLogWriter, EventRow
from callcenter.store.migrate import Migration, load_migrations, migrate
from tests.helpers.polling import wait_until
from tests.integration.conftest import PgProxy

pytestmark = pytest.mark.integration

ALL_VERSIONS = [m.version for m in load_migrations()]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def event_rows(scope: str, count: int, linkedid: str = "1795314627.19") -> list[EventRow]:
    at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    rows = []
    for seq in range(1, count + 1):
        fields = {"Event": "Newstate", "Uniqueid": scope, "Linkedid": linkedid, "ChannelState": "6",
                  "CallerIDName": "Zoë 陈"}
        raw = "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        rows.append(EventRow(linkedid, scope, seq, "Newstate", raw, at))
    return rows


async def stored(pool: asyncpg.Pool, scope: str) -> list[asyncpg.Record]:
    return list(await pool.fetch(
        "SELECT seq, event, ami_fields(raw) AS fields, raw, received_at FROM call_events WHERE scope = $1 ORDER BY seq",
        scope))


@pytest.fixture
async def fresh_pool(new_database: Callable[[], str]) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a new, unmigrated database."""
    pg = await asyncpg.create_pool(new_database(), min_size=1, max_size=4)
    yield pg
    await pg.close()


# --- migrations ---------------------------------------------------------------------------------

async def test_given_empty_database_when_migrating_twice_then_second_run_applies_nothing(
        fresh_pool: asyncpg.Pool) -> None:
    assert await migrate(fresh_pool) == ALL_VERSIONS
    assert await migrate(fresh_pool) == []
    rows = await fresh_pool.fetch("SELECT version, name, checksum FROM schema_migrations ORDER BY 1")
    assert [(r["version"], r["name"]) for r in rows] == [(m.version, m.name) for m in load_migrations()]
    assert rows[0]["name"] == "initial"
    tables = {r["tablename"] for r in await fresh_pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"calls", "call_legs", "call_events", "skills", "agents", "agent_skills",
            "agent_state_changes", "customers", "orders", "order_items", "shipments", "tickets",
            "ticket_history", "recordings", "schema_migrations"} <= tables


async def test_given_two_processes_when_migrating_at_once_then_each_migration_applies_once(
        new_database: Callable[[], str]) -> None:
    url = new_database()
    pools = [await asyncpg.create_pool(url, min_size=1, max_size=2) for _ in range(2)]
    try:
        first, second = await asyncio.gather(*(migrate(p) for p in pools))
        assert sorted(first + second) == ALL_VERSIONS
        count = await pools[0].fetchval("SELECT count(*) FROM schema_migrations")
        assert count == len(ALL_VERSIONS)
    finally:
        for p in pools:
            await p.close()


async def test_given_applied_migration_edited_when_migrating_then_error_names_it(
        fresh_pool: asyncpg.Pool) -> None:
    await migrate(fresh_pool)
    edited = [replace(m, sql=m.sql + "\n-- edited", checksum="0" * 64) if m.version == 1 else m
              for m in load_migrations()]
    with pytest.raises(MigrationError, match=r"001_initial.*must not be edited"):
        await migrate(fresh_pool, edited)


async def test_given_gap_in_migration_files_when_migrating_then_error_names_the_missing_one(
        fresh_pool: asyncpg.Pool) -> None:
    first = load_migrations()[0]
    third = Migration(3, "later", "SELECT 1", "c" * 64)
    with pytest.raises(MigrationError, match=r"migration 002 is missing"):
        await migrate(fresh_pool, [first, third])


async def test_given_database_migrated_by_newer_version_when_migrating_then_error_says_so(
        fresh_pool: asyncpg.Pool) -> None:
    await migrate(fresh_pool)
    await fresh_pool.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (99, 'future', 'x')")
    with pytest.raises(MigrationError, match=r"099_future.*does not know"):
        await migrate(fresh_pool)


async def test_given_failing_migration_when_migrating_then_it_is_rolled_back_and_named(
        fresh_pool: asyncpg.Pool) -> None:
    good = load_migrations()
    bad = Migration(len(good) + 1, "broken", "CREATE TABLE half_done (x int);\nSELECT 1/0;", "b" * 64)
    label = f"{len(good) + 1:03d}_broken"
    with pytest.raises(MigrationError, match=rf"{label} failed and was rolled back: DivisionByZero"):
        await migrate(fresh_pool, [*good, bad])
    assert await fresh_pool.fetchval("SELECT to_regclass('half_done')") is None
    assert await fresh_pool.fetchval("SELECT max(version) FROM schema_migrations") == len(good)
    typo = replace(bad, sql="CREATE TABLE half_done (x int);\nSELEC 1;")
    with pytest.raises(MigrationError, match=rf"{label} failed .*SyntaxError.*\(line 2\)"):
        await migrate(fresh_pool, [*good, typo])


# --- the event log ------------------------------------------------------------------------------

async def test_call_events_rejects_update_and_delete(pool: asyncpg.Pool) -> None:
    writer = EventLogWriter(pool)
    for row in event_rows("append-only.1", 2):
        writer.add(row)
    await writer.flush()
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await pool.execute("UPDATE call_events SET event = 'x' WHERE scope = 'append-only.1'")
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await pool.execute("DELETE FROM call_events WHERE scope = 'append-only.1'")
    assert [r["event"] for r in await stored(pool, "append-only.1")] == ["Newstate", "Newstate"]


async def test_given_rows_written_when_same_rows_flushed_again_then_each_is_stored_once(
        pool: asyncpg.Pool) -> None:
    rows = event_rows("twice.1", 50)
    writer = EventLogWriter(pool)
    for row in rows:
        writer.add(row)
    assert await writer.flush() == 50
    for row in rows + event_rows("twice.2", 5):
        writer.add(row)
    assert await writer.flush() == 5
    got = await stored(pool, "twice.1")
    assert [r["seq"] for r in got] == list(range(1, 51))
    assert got[0]["raw"] == rows[0].raw and got[0]["received_at"] == rows[0].received_at
    # the database derives the headers from the raw frame
    assert json.loads(got[0]["fields"]) == {"Event": "Newstate", "Uniqueid": "twice.1",
                                            "Linkedid": "1795314627.19", "ChannelState": "6",
                                            "CallerIDName": "Zoë 陈"}
    stats = writer.statistics()
    assert (stats["written"], stats["duplicates"], stats["pending"]) == (55, 50, 0)


async def test_given_database_down_when_flushing_then_rows_wait_and_are_written_when_it_is_back(
        pool: asyncpg.Pool, db_proxy: PgProxy) -> None:
    through_proxy = await asyncpg.create_pool(db_proxy.url, min_size=1, max_size=2)
    try:
        writer = EventLogWriter(through_proxy)
        for row in event_rows("outage.1", 10):
            writer.add(row)
        await writer.flush()
        db_proxy.cut()
        for row in event_rows("outage.2", 20):
            writer.add(row)
        with pytest.raises(DatabaseUnavailable):
            await writer.flush()
        with pytest.raises(DatabaseUnavailable):
            await writer.flush()
        assert writer.statistics()["pending"] == 20
        assert writer.statistics()["failures"] == 2
        assert await stored(pool, "outage.2") == []
        db_proxy.restore()
        assert await writer.flush() == 20
        assert [r["seq"] for r in await stored(pool, "outage.2")] == list(range(1, 21))
        assert writer.statistics()["pending"] == 0
    finally:
        await through_proxy.close()


async def test_given_run_loop_when_database_goes_away_and_back_then_nothing_is_lost(
        pool: asyncpg.Pool, db_proxy: PgProxy) -> None:
    through_proxy = await asyncpg.create_pool(db_proxy.url, min_size=1, max_size=2)
    writer = EventLogWriter(through_proxy, batch_size=100)
    task = asyncio.create_task(writer.run(interval_s=0.02, max_backoff_s=0.1))
    try:
        rows = event_rows("loop.1", 300)
        for row in rows[:100]:
            writer.add(row)
        await wait_until(lambda: writer.statistics()["pending"] == 0)
        db_proxy.cut()
        for row in rows[100:]:
            writer.add(row)
        await wait_until(lambda: writer.statistics()["failures"] >= 2)
        await asyncio.sleep(0.3)  # rows above batch_size must not turn the backoff into a spin
        assert writer.statistics()["failures"] < 15
        assert writer.statistics()["pending"] == 200
        db_proxy.restore()
        await wait_until(lambda: writer.statistics()["pending"] == 0)
        writer.stop()
        await asyncio.wait_for(task, 5)
        assert [r["seq"] for r in await stored(pool, "loop.1")] == list(range(1, 301))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await through_proxy.close()


async def test_given_full_buffer_when_adding_then_buffer_full_is_raised_and_nothing_dropped(
        new_database: Callable[[], str]) -> None:
    unreachable = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{closed_port()}/x",
                                            min_size=0, max_size=1)
    writer = EventLogWriter(unreachable, batch_size=2, max_buffer=5)
    rows = event_rows("full.1", 6)
    for row in rows[:5]:
        writer.add(row)
    with pytest.raises(BufferFull):
        writer.add(rows[5])
    with pytest.raises(DatabaseUnavailable):
        await writer.flush()
    with pytest.raises(BufferFull):  # rows put back after the failed flush still count
        writer.add(rows[5])
    assert writer.statistics()["pending"] == 5
    await unreachable.close()


async def test_given_rows_the_database_refuses_when_flushing_then_only_those_are_rejected(
        pool: asyncpg.Pool) -> None:
    rows = event_rows("poison.1", 6)
    rows[1] = replace(rows[1], raw="Event: Newstate\r\nCallerIDName: a\x00b\r\n\r\n")
    rows[3] = replace(rows[3], seq=2**40)  # out of int range
    writer = EventLogWriter(pool)
    for row in rows:
        writer.add(row)
    assert await writer.flush() == 5
    got = await stored(pool, "poison.1")
    assert [r["seq"] for r in got] == [1, 2, 3, 5, 6]
    assert got[1]["raw"] == "Event: Newstate\r\nCallerIDName: a\ufffdb\r\n\r\n"
    assert writer.statistics()["rejected"] == 1
    assert writer.statistics()["pending"] == 0


# --- opening the database -----------------------------------------------------------------------

async def test_given_url_when_opening_then_pool_answers_and_closes(db_url: str, tmp_path: Path) -> None:
    database = await open_database(DatabaseSettings(url=Secret(db_url), pool_min=1, pool_max=2), tmp_path)
    try:
        assert database.embedded is None
        assert await database.ping()
    finally:
        await database.close()
        await database.close()  # twice is fine
    assert not await database.ping()
    assert not (tmp_path / "pgdata").exists()


async def test_given_empty_url_when_opening_then_embedded_server_starts_migrates_and_stops(
        tmp_path: Path) -> None:
    settings = DatabaseSettings(pool_min=1, pool_max=2)
    database = await open_database(settings, tmp_path)
    try:
        assert database.embedded is not None
        assert await migrate(database.pool) == ALL_VERSIONS
        assert await database.ping()
        assert await database.pool.fetchval("SELECT current_database()") == "callcenter"
        assert "password" not in database.dsn_for_logs
    finally:
        await database.close()
    assert not await database.ping()
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()  # the server was stopped

    again = await open_database(settings, tmp_path)  # the data survived the restart
    try:
        assert await migrate(again.pool) == []
    finally:
        await again.close()


async def test_given_unreachable_server_with_password_when_opening_then_error_hides_password(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port = closed_port()
    secret = "S3cr3t-pa55word"
    settings = DatabaseSettings(url=Secret(f"postgresql://callcenter:{secret}@127.0.0.1:{port}/calls"))
    with structlog.testing.capture_logs() as logged, pytest.raises(DatabaseUnavailable) as caught:
        await open_database(settings, Path("/nonexistent"), connect_timeout_s=2)
    text = "".join(traceback.format_exception(caught.value))
    assert f"127.0.0.1:{port}/calls" in str(caught.value)
    assert secret not in text and secret not in repr(caught.value)
    assert secret not in repr(logged) + caplog.text


async def test_given_database_down_when_pinging_then_false_without_raising(
        db_proxy: PgProxy) -> None:
    database_pool = await asyncpg.create_pool(db_proxy.url, min_size=1, max_size=1)
    database = Database(database_pool, mask_dsn(db_proxy.url))
    try:
        assert await database.ping()
        db_proxy.cut()
        assert not await database.ping(timeout_s=1)
        db_proxy.restore()
        assert await database.ping()
    finally:
        await database.close()


def test_dsn_for_logs_masks_passwords_in_user_part_and_query() -> None:
    assert mask_dsn("postgresql://u:p%40ss@db.example:5433/calls?sslmode=require") == \
        "postgresql://u:********@db.example:5433/calls?sslmode=require"
    assert "hunter2" not in mask_dsn("postgresql://u@db/calls?password=hunter2")
    assert mask_dsn("postgresql://u@db/calls") == "postgresql://u@db/calls"
    assert describe_dsn("postgresql://postgres@/callcenter?host=/tmp/pg&port=5432") == \
        "/tmp/pg:5432/callcenter"
