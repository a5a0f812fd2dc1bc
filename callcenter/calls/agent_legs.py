"""The agents' part of a stored call: one entry per agent leg that talked to the caller (who,
when their talk began and ended, how it ended, where they transferred the caller, their note),
in order, for the call detail API and QA. ``recording_from_s``/``recording_to_s`` place each
agent's part in the call's mixed recording (seconds from its start; the recording follows the
caller's channel, so one file holds every agent's part), None without a recording."""

from __future__ import annotations

from typing import Any

import asyncpg

_LEGS = """
SELECT l.channel, a.login AS agent, l.created_at, l.answered_at, l.talk_started_at, l.ended_at,
       l.ended_how, l.transferred_to, l.note,
       extract(epoch FROM (l.ended_at - l.talk_started_at))::float8 AS talk_s,
       greatest(0, extract(epoch FROM (l.talk_started_at - rec.started_at)))::float8 AS rec_from,
       greatest(0, extract(epoch FROM (l.ended_at - rec.started_at)))::float8 AS rec_to
FROM call_legs l LEFT JOIN agents a ON a.id = l.agent_id
LEFT JOIN LATERAL (SELECT r.started_at FROM recordings r WHERE r.call_id = l.call_id
                   AND r.kind = 'mixed' ORDER BY r.started_at LIMIT 1) rec ON true
WHERE l.call_id = $1 AND l.role = 'agent' AND l.talk_started_at IS NOT NULL
ORDER BY l.talk_started_at, l.id
"""


async def agent_legs(pool: asyncpg.Pool, call_id: int) -> list[dict[str, Any]]:
    rows = await pool.fetch(_LEGS, call_id)
    return [{"channel": r["channel"], "agent": r["agent"],
             "started_at": _iso(r["created_at"]), "answered_at": _iso(r["answered_at"]),
             "talk_started_at": _iso(r["talk_started_at"]), "ended_at": _iso(r["ended_at"]),
             "talk_s": round(r["talk_s"], 3) if r["talk_s"] is not None else None,
             "ended_how": r["ended_how"], "transferred_to": r["transferred_to"],
             "note": r["note"], "recording_from_s": _round(r["rec_from"]),
             "recording_to_s": _round(r["rec_to"])} for r in rows]


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
