"""Numbered SQL migrations (``migrations/NNN_name.sql``, package data), applied in order.

Each migration runs in its own transaction together with its row in ``schema_migrations``, so
a failing migration leaves nothing behind. Every transaction first takes a transaction-scoped
advisory lock, so several processes starting at once (servers, workers, ``callcenter migrate``)
apply each migration exactly once; the others wait and then find nothing to do.

Applied migrations are immutable: the file's checksum is recorded, and a file edited after it
was applied, a missing number, or a migration the database has but this program does not, stops
:func:`migrate` with a :class:`~callcenter.store.errors.MigrationError` that says which.
Statements that cannot run in a transaction (``CREATE INDEX CONCURRENTLY``) do not belong here.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from callcenter.store.errors import MigrationError

log = structlog.get_logger("callcenter.store")

MIGRATION_LOCK_ID = 0x63616C6C_6D696772  # "callmigr": other advisory locks must use other ids
_FILE_NAME = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    int PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str
    checksum: str

    @property
    def label(self) -> str:
        return f"{self.version:03d}_{self.name}"


def load_migrations(package: str = "callcenter.store", folder: str = "migrations") -> list[Migration]:
    """Read and check the migration files shipped in ``package/folder``, in version order.

    Raises:
        MigrationError: a ``.sql`` file is badly named, two share a number, or a number is missing.
    """
    found: dict[int, Migration] = {}
    for entry in (importlib.resources.files(package) / folder).iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"migration file {entry.name}: name must be NNN_lowercase_words.sql")
        sql = entry.read_text(encoding="utf-8").replace("\r\n", "\n")
        migration = Migration(int(match[1]), match[2], sql, hashlib.sha256(sql.encode()).hexdigest())
        if migration.version in found:
            raise MigrationError(f"two migration files have number {migration.version:03d}:"
                                 f" {found[migration.version].label}.sql and {entry.name}")
        found[migration.version] = migration
    ordered = [found[v] for v in sorted(found)]
    check_sequence(ordered)
    return ordered


def check_sequence(migrations: Sequence[Migration]) -> None:
    """Versions must run 1, 2, 3… in order: a gap means a file is missing from the package.

    Raises:
        MigrationError: names the first missing number.
    """
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise MigrationError(f"migration {expected:03d} is missing: the migrations jump to"
                                 f" {migration.label} (numbers must run 001, 002, … without gaps)")


async def migrate(pool: asyncpg.Pool, migrations: Sequence[Migration] | None = None, *,
                  timeout_s: float = 3600.0) -> list[int]:
    """Apply the migrations the database does not have yet; safe to run concurrently and twice.

    Args:
        pool: any pool (or connection-like object with ``acquire``) on the target database.
        migrations: defaults to :func:`load_migrations`.
        timeout_s: per statement; long because waiting for another migrating process and
            building indexes on big tables both take a while.

    Returns:
        The versions this call applied, in order (empty when the schema was up to date).

    Raises:
        MigrationError: the files and the recorded history disagree, or a migration failed
            (it was rolled back; those before it stay applied).
    """
    wanted = list(load_migrations() if migrations is None else migrations)
    check_sequence(wanted)
    applied_now: list[int] = []
    async with pool.acquire() as conn:
        while True:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_ID,
                                   timeout=timeout_s)
                await conn.execute(_CREATE_TABLE, timeout=timeout_s)
                recorded = await conn.fetch(
                    "SELECT version, name, checksum FROM schema_migrations ORDER BY version")
                pending = plan(wanted, recorded)
                if not pending:
                    break
                migration = pending[0]
                await _apply(conn, migration, timeout_s)
            applied_now.append(migration.version)
            log.info("migration_applied", version=migration.version, name=migration.name)
    return applied_now


def plan(wanted: Sequence[Migration], recorded: Sequence[Any]) -> list[Migration]:
    """The migrations still to apply, after checking the recorded history against the files.

    Args:
        wanted: the migration files, in version order.
        recorded: rows (mappings) of ``schema_migrations`` with version, name and checksum.

    Raises:
        MigrationError: an applied migration was edited or renamed, is unknown to this program,
            or the recorded history has a gap.
    """
    by_version = {m.version: m for m in wanted}
    done: set[int] = set()
    for row in recorded:
        version, name, checksum = int(row["version"]), str(row["name"]), str(row["checksum"])
        label = f"{version:03d}_{name}"
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {label} applied, which this program does not know:"
                " it was migrated by a newer version; run that version or restore a backup")
        if migration.name != name or migration.checksum != checksum:
            raise MigrationError(
                f"migration {migration.label}.sql differs from the {label} applied to this database"
                f" (checksum {checksum[:12]}… applied, {migration.checksum[:12]}… in the file):"
                " an applied migration must not be edited; add a new migration instead")
        done.add(version)
    pending = [m for m in wanted if m.version not in done]
    if pending and done and max(done) > pending[0].version:
        raise MigrationError(
            f"the database has migration {max(done):03d} applied but not {pending[0].label}:"
            " the recorded schema history has a gap; repair schema_migrations by hand")
    return pending


async def _apply(conn: Any, migration: Migration, timeout_s: float) -> None:
    try:
        await conn.execute(migration.sql, timeout=timeout_s)
    except asyncpg.PostgresError as exc:
        position = getattr(exc, "position", None)  # 1-based character offset in the script
        where = (f" (line {migration.sql[:int(position)].count(chr(10)) + 1})"
                 if position and str(position).isdigit() else "")
        raise MigrationError(f"migration {migration.label} failed and was rolled back:"
                             f" {type(exc).__name__}: {exc}{where}") from exc
    await conn.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
        migration.version, migration.name, migration.checksum, timeout=timeout_s)
