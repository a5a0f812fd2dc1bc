"""The ``callbacks`` table (migration 013): what became of every callback offer, and the open
callbacks a restarted server queues again in their place.

Writes are keyed by the original call's Linkedid and safe to repeat (upserts and guarded
updates), so a write retried after a lost connection leaves one consistent row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from callcenter.clock import wall_time
from callcenter.routing.events import CallRequest

_OFFERED = """
INSERT INTO callbacks (call_linkedid, skill, waited_s, offered_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (call_linkedid) DO NOTHING
"""
_DECLINED = "UPDATE callbacks SET status = 'declined' WHERE call_linkedid = $1 AND status = 'offered'"
_KEPT = """
INSERT INTO callbacks (call_linkedid, status, skill, number, request, enqueued_at, offered_at,
                       accepted_at)
VALUES ($1, 'waiting', $2, $3, $4::jsonb, $5, $6, $6)
ON CONFLICT (call_linkedid) DO UPDATE SET status = 'waiting', skill = EXCLUDED.skill,
    number = EXCLUDED.number, request = EXCLUDED.request, enqueued_at = EXCLUDED.enqueued_at,
    accepted_at = EXCLUDED.accepted_at
WHERE callbacks.status IN ('offered', 'declined')
"""
_ATTEMPT = """
UPDATE callbacks SET attempts = GREATEST(attempts, $2), last_result = $3, agent_login = $4
WHERE call_linkedid = $1 AND status = 'waiting'
"""
_CONNECTED = """
UPDATE callbacks SET status = 'connected', attempts = GREATEST(attempts, $2), agent_login = $3,
    last_result = 'answered', connected_at = $4
WHERE call_linkedid = $1 AND status = 'waiting'
"""
_LINKED = "UPDATE callbacks SET callback_linkedid = $2 WHERE call_linkedid = $1"
_COMPLETED = """
UPDATE callbacks SET status = 'completed', ended_at = $2
WHERE call_linkedid = $1 AND status = 'connected'
"""
_FAILED = """
UPDATE callbacks SET status = 'failed', attempts = GREATEST(attempts, $2), last_result = $3,
    ticket_id = $4, ended_at = $5
WHERE call_linkedid = $1 AND status = 'waiting'
"""
_OPEN = """
SELECT call_linkedid, number, request, enqueued_at, attempts FROM callbacks
WHERE status = 'waiting' ORDER BY enqueued_at
"""
_ORIGINAL = """
SELECT c.call_linkedid, c.number, c.enqueued_at, c.attempts, c.accepted_at, c.request,
       k.ivr_path, k.customer_id
FROM callbacks c LEFT JOIN calls k ON k.linkedid = c.call_linkedid
WHERE c.call_linkedid = $1
"""

_SKILLS = """
SELECT call_linkedid, coalesce(nullif(skill, ''), request->>'skill', '') AS skill FROM callbacks
WHERE call_linkedid = ANY($1::text[])
"""


@dataclass(frozen=True, slots=True)
class OpenCallback:
    """A taken callback not yet connected: queued again after a restart."""

    request: CallRequest
    number: str
    enqueued_at: float
    attempts: int


def request_json(request: CallRequest) -> str:
    return json.dumps({"skill": request.skill, "min_level": request.min_level,
                       "language": request.language, "priority": request.priority,
                       "tags": sorted(request.tags), "order_value": request.order_value,
                       "preferred_agent": request.preferred_agent})


def request_from(call_id: str, raw: Any) -> CallRequest:
    data = json.loads(raw) if isinstance(raw, str) else dict(raw)
    return CallRequest(call_id, str(data["skill"]), int(data.get("min_level", 1)),
                       str(data.get("language", "")), int(data.get("priority", 0)),
                       frozenset(str(t) for t in data.get("tags", ())),
                       float(data.get("order_value", 0.0)), data.get("preferred_agent"))


class CallbackStore:
    """Args:
        pool: asyncpg pool on the migrated database.
        clock: wall-clock seconds (stamps the rows).
    """

    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], float] = wall_time,
                 timeout_s: float = 5.0) -> None:
        self._pool = pool
        self._clock = clock
        self._timeout = timeout_s

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def offered(self, call_id: str, skill: str, waited_s: float) -> None:
        await self._pool.execute(_OFFERED, call_id, skill, max(0.0, waited_s), self._now(),
                                 timeout=self._timeout)

    async def declined(self, call_id: str) -> None:
        await self._pool.execute(_DECLINED, call_id, timeout=self._timeout)

    async def kept(self, request: CallRequest, number: str, enqueued_at: float) -> None:
        await self._pool.execute(_KEPT, request.call_id, request.skill, number,
                                 request_json(request), enqueued_at, self._now(),
                                 timeout=self._timeout)

    async def attempt_failed(self, call_id: str, attempt: int, result: str, agent_id: str) -> None:
        await self._pool.execute(_ATTEMPT, call_id, attempt, result, agent_id, timeout=self._timeout)

    async def connected(self, call_id: str, attempt: int, agent_id: str) -> None:
        await self._pool.execute(_CONNECTED, call_id, attempt, agent_id, self._now(),
                                 timeout=self._timeout)

    async def linked(self, call_id: str, callback_linkedid: str) -> None:
        """The callback's own call (agent and customer legs) is ``callback_linkedid``."""
        await self._pool.execute(_LINKED, call_id, callback_linkedid, timeout=self._timeout)

    async def completed(self, call_id: str) -> None:
        await self._pool.execute(_COMPLETED, call_id, self._now(), timeout=self._timeout)

    async def failed(self, call_id: str, attempts: int, result: str, ticket_id: int | None) -> None:
        await self._pool.execute(_FAILED, call_id, attempts, result, ticket_id, self._now(),
                                 timeout=self._timeout)

    async def open_callbacks(self) -> list[OpenCallback]:
        """The taken callbacks not yet connected, oldest place first."""
        rows = await self._pool.fetch(_OPEN, timeout=self._timeout)
        return [OpenCallback(request_from(r["call_linkedid"], r["request"]), r["number"],
                             float(r["enqueued_at"]), int(r["attempts"])) for r in rows]

    async def skills(self, originals: list[str]) -> dict[str, str]:
        """The skill of each callback of ``originals`` (the calls they answer), for the talks
        a restarted server finds going on: the original call's id -> its callback's skill."""
        if not originals:
            return {}
        rows = await self._pool.fetch(_SKILLS, originals, timeout=self._timeout)
        return {r["call_linkedid"]: r["skill"] for r in rows}

    async def original(self, call_id: str) -> dict[str, Any] | None:
        """What the agent's pop shows of a callback: number, original wait start, IVR path,
        customer (``None``: no such callback)."""
        row = await self._pool.fetchrow(_ORIGINAL, call_id, timeout=self._timeout)
        if row is None:
            return None
        return {"call_id": row["call_linkedid"], "number": row["number"],
                "enqueued_at": row["enqueued_at"], "attempts": row["attempts"],
                "accepted_at": row["accepted_at"].isoformat() if row["accepted_at"] else None,
                "ivr_path": _json_list(row["ivr_path"]), "customer_id": row["customer_id"]}


def _json_list(raw: Any) -> list[Any]:
    value = json.loads(raw) if isinstance(raw, str) else raw
    return list(value) if isinstance(value, list) else []
