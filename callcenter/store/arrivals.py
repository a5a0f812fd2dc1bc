"""Offered calls per interval of the day over a period: the history behind a staffing plan."""

from __future__ import annotations

from datetime import datetime

import asyncpg

_HISTORY_SQL = """
SELECT (extract(epoch FROM (arrived_at AT TIME ZONE $3)::time)::int / $4) AS slot,
       count(*) AS calls
FROM calls
WHERE arrived_at >= $1 AND arrived_at < $2 AND state <> 'ivr'
  AND outcome IS DISTINCT FROM 'ivr_hangup'
GROUP BY slot ORDER BY slot
"""


async def arrivals_by_slot(pool: asyncpg.Pool, start: datetime, end: datetime, tz: str,
                           slot_s: int) -> list[tuple[int, int]]:
    """``(slot, calls)`` for each slot of ``slot_s`` seconds of the day (in ``tz``) that had calls.

    Raises:
        asyncpg.InvalidParameterValueError: ``tz`` is not a time zone PostgreSQL knows.
    """
    rows = await pool.fetch(_HISTORY_SQL, start, end, tz, slot_s)
    return [(int(r["slot"]), int(r["calls"])) for r in rows]
