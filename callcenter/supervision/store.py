"""The supervision tables: the supervisor's phone (``users.phone``) and one audit row per
monitoring session (``supervision_sessions``, migration 012)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg

from callcenter.supervision.errors import AlreadyMonitoring, BargeTaken
from callcenter.supervision.model import EndReason, Mode


def _ts(at: float | None) -> datetime | None:
    return None if at is None else datetime.fromtimestamp(at, UTC)


class SessionRows(Protocol):
    """What the supervision service and its API read and write (:class:`SupervisionStore`, or
    a test's in-memory rows)."""

    async def phone(self, login: str) -> str | None: ...

    async def set_phone(self, login: str, phone: str | None) -> bool: ...

    async def open(self, supervisor: str, call_id: str, agent_id: str, mode: Mode, phone: str,
                   at: float, live: list[int]) -> int: ...

    async def answered(self, session_id: int, spy_channel: str, at: float) -> None: ...

    async def close(self, session_id: int, reason: EndReason, at: float) -> None: ...

    async def close_stale(self, live: list[int], at: float) -> int: ...

    async def history(self, call_id: str) -> list[dict[str, Any]]: ...


class SupervisionStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def phone(self, login: str) -> str | None:
        value: str | None = await self._pool.fetchval("SELECT phone FROM users WHERE login = $1", login)
        return value

    async def set_phone(self, login: str, phone: str | None) -> bool:
        """Returns False when there is no such user."""
        done = await self._pool.execute("UPDATE users SET phone = $2 WHERE login = $1", login, phone)
        return bool(done.endswith(" 1"))

    async def open(self, supervisor: str, call_id: str, agent_id: str, mode: Mode, phone: str,
                   at: float, live: list[int]) -> int:
        """The session's row; the database refuses a second barge or a second live session.
        Rows left open by a previous run (not among ``live``, this server's sessions) that
        would stand in the way are closed first (``server_restart``).

        Raises:
            BargeTaken, AlreadyMonitoring: another live row holds the place.
        """
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "UPDATE supervision_sessions SET ended_at = $4, end_reason = 'server_restart'"
                    " WHERE ended_at IS NULL AND id <> ALL($3::bigint[])"
                    " AND (supervisor = $1 OR (mode = 'barge' AND call_id = $2))",
                    supervisor, call_id, live, _ts(at))
                session_id: int = await conn.fetchval(
                    "INSERT INTO supervision_sessions (supervisor, call_id, agent_id, mode, phone,"
                    " started_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    supervisor, call_id, agent_id, mode.value, phone, _ts(at))
        except asyncpg.UniqueViolationError as exc:
            if "one_barge" in (exc.constraint_name or ""):
                raise BargeTaken("another supervisor is already barging into this call") from None
            raise AlreadyMonitoring("you are already on a call; stop it first") from None
        return session_id

    async def answered(self, session_id: int, spy_channel: str, at: float) -> None:
        await self._pool.execute(
            "UPDATE supervision_sessions SET spy_channel = $2, answered_at = $3 WHERE id = $1",
            session_id, spy_channel, _ts(at))

    async def close(self, session_id: int, reason: EndReason, at: float) -> None:
        await self._pool.execute(
            "UPDATE supervision_sessions SET ended_at = $2, end_reason = $3"
            " WHERE id = $1 AND ended_at IS NULL", session_id, _ts(at), reason.value)

    async def close_stale(self, live: list[int], at: float) -> int:
        """Close every open row but ``live`` (a previous run's sessions); returns how many."""
        done = await self._pool.execute(
            "UPDATE supervision_sessions SET ended_at = $2, end_reason = 'server_restart'"
            " WHERE ended_at IS NULL AND id <> ALL($1::bigint[])", live, _ts(at))
        return int(done.split()[-1])

    async def history(self, call_id: str) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            "SELECT id, supervisor, call_id, agent_id, mode, phone, spy_channel, started_at,"
            " answered_at, ended_at, end_reason FROM supervision_sessions WHERE call_id = $1"
            " ORDER BY id", call_id)
        return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
                for r in rows]
