"""The stored calls as the web reads them: the history with filters, one call, who owns it, and
the agent's disposition at wrap-up."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

_COLUMNS = ("id, linkedid, caller_number, caller_name, state, outcome, agent_channel, digits,"
            " hangup_cause, hangup_by, end_reason, arrived_at, queued_at, answered_at, bridged_at,"
            " ended_at, agent_id, offers, ivr_path")

# An agent's call: answered by them, or still unanswered and offered to their phone (the pop
# arrives while it rings).
_AGENTS_CALL = """
SELECT EXISTS (SELECT 1 FROM calls c WHERE c.id = $1 AND (c.agent_id = $2 OR (c.agent_id IS NULL
    AND EXISTS (SELECT 1 FROM jsonb_array_elements(c.offers) o JOIN agents a ON a.id = $2
                WHERE o->>'dial_string' = a.dial_string))))
"""


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which calls to list, newest first; ``agent_id`` restricts to one agent's calls."""

    agent_id: int | None = None
    only_agent: bool = False
    state: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    caller_number: str = ""
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class CallOwner:
    """Who a call belongs to: the agent who took it and the customer who called."""

    id: int
    linkedid: str
    agent_id: int | None
    customer_id: int | None


def call_json(row: asyncpg.Record) -> dict[str, Any]:
    """A call row as JSON: times in ISO 8601, offers and the IVR path decoded, the duration."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif key in ("offers", "ivr_path") and isinstance(value, str):
            out[key] = json.loads(value)
        else:
            out[key] = value
    if row["ended_at"] is not None:
        out["duration_s"] = round((row["ended_at"] - row["arrived_at"]).total_seconds(), 3)
    return out


async def list_calls(pool: asyncpg.Pool, wanted: CallFilter) -> list[dict[str, Any]]:
    """The calls ``wanted`` selects, as :func:`call_json`."""
    where: list[str] = []
    args: list[Any] = []
    for clause, value, used in (("agent_id = ?", wanted.agent_id, wanted.only_agent),
                                ("state = ?", wanted.state, wanted.state is not None),
                                ("outcome = ?", wanted.outcome, wanted.outcome is not None),
                                ("arrived_at >= ?", wanted.since, wanted.since is not None),
                                ("arrived_at < ?", wanted.until, wanted.until is not None),
                                ("caller_number = ?", wanted.caller_number, bool(wanted.caller_number))):
        if used:
            args.append(value)
            where.append(clause.replace("?", f"${len(args)}"))
    sql = (f"SELECT {_COLUMNS} FROM calls {'WHERE ' + ' AND '.join(where) if where else ''}"
           f" ORDER BY arrived_at DESC, id DESC LIMIT {int(wanted.limit)} OFFSET {int(wanted.offset)}")
    return [call_json(r) for r in await pool.fetch(sql, *args)]


async def get_call(pool: asyncpg.Pool, call_id: int) -> dict[str, Any] | None:
    """One call as :func:`call_json`, or None."""
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM calls WHERE id = $1", call_id)
    return None if row is None else call_json(row)


async def call_owner(pool: asyncpg.Pool, call_id: int) -> CallOwner | None:
    row = await pool.fetchrow("SELECT id, linkedid, agent_id, customer_id FROM calls WHERE id = $1", call_id)
    return None if row is None else CallOwner(row["id"], row["linkedid"], row["agent_id"], row["customer_id"])


async def agent_took_customer(pool: asyncpg.Pool, agent_id: int | None, customer_id: int) -> bool:
    """True when the agent answered some call of the customer."""
    return bool(await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM calls WHERE agent_id = $1 AND customer_id = $2)", agent_id,
        customer_id))


async def is_agents_call(pool: asyncpg.Pool, call_id: int, agent_id: int | None) -> bool:
    """True when the agent took the call, or it is unanswered and offered to their phone."""
    return bool(await pool.fetchval(_AGENTS_CALL, call_id, agent_id))


async def set_disposition(pool: asyncpg.Pool, call_id: int, code: str, note: str) -> None:
    await pool.execute("UPDATE calls SET disposition = $2, disposition_note = $3, disposition_at = now()"
                       " WHERE id = $1", call_id, code, note)
