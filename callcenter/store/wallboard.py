"""The wallboard's stored numbers: the day's totals and the callers of live calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

DAY_SQL = """
SELECT count(*) FILTER (WHERE state <> 'ivr' OR outcome <> 'ivr_hangup') AS offered,
       count(*) FILTER (WHERE outcome = 'answered') AS answered,
       count(*) FILTER (WHERE outcome = 'abandoned'
                        AND ended_at - coalesce(queued_at, arrived_at) >= make_interval(secs => $2))
           AS abandoned,
       count(*) FILTER (WHERE outcome = 'abandoned'
                        AND ended_at - coalesce(queued_at, arrived_at) < make_interval(secs => $2))
           AS short_abandons,
       avg(extract(epoch FROM answered_at - coalesce(queued_at, arrived_at)))
           FILTER (WHERE outcome = 'answered' AND answered_at IS NOT NULL) AS asa_s,
       avg(csat) AS csat
FROM calls WHERE arrived_at >= $1"""

LIVE_SQL = """SELECT linkedid, caller_number, caller_name, answered_at, arrived_at, state
              FROM calls WHERE state <> 'ended' AND linkedid = ANY($1::text[])"""


@dataclass(frozen=True, slots=True)
class LiveCall:
    linkedid: str
    caller_number: str | None
    caller_name: str | None
    answered_at: datetime | None
    arrived_at: datetime
    state: str


async def day_totals(pool: asyncpg.Pool, since: datetime, short_abandon_s: float) -> dict[str, Any]:
    """Offered, answered, abandoned (and short abandons under ``short_abandon_s``), ASA and CSAT
    of the calls that arrived since ``since``."""
    row = await pool.fetchrow(DAY_SQL, since, short_abandon_s)
    return dict(row) if row else {}


async def live_calls(pool: asyncpg.Pool, linkedids: list[str]) -> dict[str, LiveCall]:
    """The calls among ``linkedids`` that have not ended, by linkedid."""
    if not linkedids:
        return {}
    return {r["linkedid"]: LiveCall(r["linkedid"], r["caller_number"], r["caller_name"], r["answered_at"],
                                    r["arrived_at"], r["state"])
            for r in await pool.fetch(LIVE_SQL, linkedids)}
