"""Who is who: agent rows by login and by id, and their display names."""

from __future__ import annotations

import asyncpg


async def agent_db_id(pool: asyncpg.Pool, login: str) -> int | None:
    """The ``agents.id`` of the agent ``login``, or None."""
    value: int | None = await pool.fetchval("SELECT id FROM agents WHERE login = $1", login)
    return value


async def agent_login(pool: asyncpg.Pool, agent_db_id: int | None) -> str | None:
    """The login of the agent row ``agent_db_id`` (None for None or an unknown id)."""
    if agent_db_id is None:
        return None
    login: str | None = await pool.fetchval("SELECT login FROM agents WHERE id = $1", agent_db_id)
    return login


async def agent_names(pool: asyncpg.Pool) -> dict[int, str]:
    """Every agent's display name by ``agents.id``."""
    return {r["id"]: r["display_name"] for r in await pool.fetch("SELECT id, display_name FROM agents")}
