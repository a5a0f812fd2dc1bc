"""Agents in PostgreSQL: profiles (``agents``, ``skills``, ``agent_skills``) and the history of
their states (``agent_state_changes``, written in batches off the hot path)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from callcenter.agents.errors import UnknownAgent
from callcenter.agents.model import AgentProfile, AgentState
from callcenter.routing.decisions import AgentStateChanged
from callcenter.runtime.periodic import periodic


class AgentStore:
    """Profiles and state history.

    Args:
        pool: an asyncpg pool on a database migrated to 003.
        max_buffer: state changes kept in memory while the database is away (oldest dropped
            beyond it, and counted in ``dropped``).
    """

    def __init__(self, pool: asyncpg.Pool, max_buffer: int = 100_000) -> None:
        self._pool = pool
        self._ids: dict[str, int] = {}
        self._buffer: deque[AgentStateChanged] = deque()
        self._max_buffer = max_buffer
        self._lock = asyncio.Lock()
        self.dropped = 0
        self.last_progress = time.monotonic()  # of the last flush that succeeded (watchdog)
        self.written = 0

    # --- profiles ----------------------------------------------------------------------------

    async def seed(self, profiles: Iterable[AgentProfile]) -> list[AgentProfile]:
        """Insert or update agents by login (skills replaced); returns them with ``db_id``.
        Safe to run again with the same file."""
        out: list[AgentProfile] = []
        async with self._pool.acquire() as conn, conn.transaction():
            for profile in profiles:
                out.append(await self._upsert(conn, profile))
        return out

    async def _upsert(self, conn: Any, profile: AgentProfile) -> AgentProfile:
        agent_id = await conn.fetchval(
            """INSERT INTO agents (login, display_name, dial_string, languages, max_concurrent)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (login) DO UPDATE SET display_name = EXCLUDED.display_name,
                   dial_string = EXCLUDED.dial_string, languages = EXCLUDED.languages,
                   max_concurrent = EXCLUDED.max_concurrent
               RETURNING id""",
            profile.agent_id, profile.name, profile.dial_string, sorted(profile.languages),
            profile.max_concurrent)
        await self._write_skills(conn, agent_id, profile.skills)
        self._ids[profile.agent_id] = agent_id
        return _with_id(profile, agent_id)

    async def _write_skills(self, conn: Any, agent_db_id: int, skills: Any) -> None:
        await conn.execute("DELETE FROM agent_skills WHERE agent_id = $1", agent_db_id)
        for skill, level in skills.items():
            skill_id = await conn.fetchval(
                """INSERT INTO skills (name) VALUES ($1)
                   ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id""", skill)
            await conn.execute(
                "INSERT INTO agent_skills (agent_id, skill_id, level) VALUES ($1, $2, $3)",
                agent_db_id, skill_id, level)

    async def save(self, profile: AgentProfile) -> AgentProfile:
        """Insert or update one agent (the API's create/update)."""
        async with self._pool.acquire() as conn, conn.transaction():
            return await self._upsert(conn, profile)

    async def load(self) -> list[AgentProfile]:
        """Every agent with skills and languages, by login."""
        rows = await self._pool.fetch(
            """SELECT a.id, a.login, a.display_name, a.dial_string, a.languages, a.max_concurrent,
                      coalesce(jsonb_object_agg(s.name, k.level)
                               FILTER (WHERE s.name IS NOT NULL), '{}') AS skills
               FROM agents a
               LEFT JOIN agent_skills k ON k.agent_id = a.id
               LEFT JOIN skills s ON s.id = k.skill_id
               GROUP BY a.id ORDER BY a.login""")
        out = []
        for row in rows:
            skills = row["skills"]
            if isinstance(skills, str):
                skills = json.loads(skills)
            profile = AgentProfile(row["login"], row["display_name"], row["dial_string"], skills,
                                   frozenset(row["languages"] or ["en"]), row["max_concurrent"],
                                   row["id"])
            self._ids[profile.agent_id] = row["id"]
            out.append(profile)
        return out

    async def db_id(self, login: str) -> int:
        """Raises: UnknownAgent."""
        found = self._ids.get(login)
        if found is None:
            found = await self._pool.fetchval("SELECT id FROM agents WHERE login = $1", login)
            if found is None:
                raise UnknownAgent(f"no agent with login {login!r}")
            self._ids[login] = found
        return int(found)

    # --- state history -----------------------------------------------------------------------

    def add(self, change: AgentStateChanged) -> None:
        """Queue one state change (hot path: no I/O)."""
        if len(self._buffer) >= self._max_buffer:
            self._buffer.popleft()
            self.dropped += 1
        self._buffer.append(change)

    async def flush(self) -> int:
        """Write the queued changes in one batch; they stay queued if the database fails.

        Raises:
            asyncpg / OSError errors from the database (nothing is lost then).
        """
        async with self._lock:
            batch = list(self._buffer)
            if not batch:
                return 0
            rows = []
            for change in batch:
                try:
                    db_id = await self.db_id(change.agent_id)
                except UnknownAgent:  # deleted meanwhile (or never stored): nothing to attach to
                    self.dropped += 1
                    continue
                rows.append((db_id, change.state.value, change.reason, change.call_id or "",
                             datetime.fromtimestamp(change.at, UTC)))
            if rows:
                async with self._pool.acquire() as conn:
                    await conn.copy_records_to_table(
                        "agent_state_changes", records=rows,
                        columns=("agent_id", "state", "reason", "call_id", "at"))
            for _ in batch:
                self._buffer.popleft()
            self.written += len(rows)
            return len(rows)

    async def run(self, interval_s: float = 0.5) -> None:
        """Flush forever; a failing database is logged once per outage."""

        async def flush() -> None:
            await self.flush()
            self.last_progress = time.monotonic()

        await periodic("agent-states", interval_s, flush)

    async def last_states(self) -> dict[str, tuple[AgentState, str, datetime]]:
        """Each agent's latest stored state (to restore after a restart)."""
        rows = await self._pool.fetch(
            """SELECT DISTINCT ON (c.agent_id) a.login, c.state, c.reason, c.at
               FROM agent_state_changes c JOIN agents a ON a.id = c.agent_id
               ORDER BY c.agent_id, c.at DESC, c.id DESC""")
        return {r["login"]: (AgentState(r["state"]), r["reason"], r["at"]) for r in rows}

    async def history(self, login: str, limit: int = 100) -> Sequence[dict[str, Any]]:
        """An agent's latest state changes, newest first."""
        rows = await self._pool.fetch(
            """SELECT c.state, c.reason, c.call_id, c.at FROM agent_state_changes c
               WHERE c.agent_id = $1 ORDER BY c.at DESC, c.id DESC LIMIT $2""",
            await self.db_id(login), limit)
        return [dict(r) for r in rows]

    def statistics(self) -> dict[str, int]:
        return {"pending": len(self._buffer), "written": self.written, "dropped": self.dropped}


def _with_id(profile: AgentProfile, db_id: int) -> AgentProfile:
    return AgentProfile(profile.agent_id, profile.name, profile.dial_string, profile.skills,
                        profile.languages, profile.max_concurrent, db_id)
