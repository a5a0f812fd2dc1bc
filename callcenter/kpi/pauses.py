"""Pause time and count by reason, per agent and day, from ``agent_state_changes``.

A pause is a ``paused`` row of an agent; it lasts until that agent's next state change (a
change of reason starts a new pause), or until ``now`` while it runs. Over a period
``[start, end)``:

* **seconds**: the part of each pause inside the period (a pause begun before ``start`` counts
  from ``start``; one still running counts up to ``min(now, end)``);
* **count**: the pauses that *began* in the period (one begun before it adds time, not a count);
* **day**: the local date (time zone ``tz``) of the pause's first moment inside the period; a
  pause across midnight is reported on the day it started.

System reasons (``login``, ``missed``, ``phone_busy``…) are reported like the configured ones, so
a supervisor sees how long agents sat in "missed" as well as on lunch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from callcenter.kpi.report import KpiError, check_tz

_PAUSES_SQL = """
WITH rows AS (
    SELECT c.id, c.agent_id, c.state, c.reason, c.at FROM agent_state_changes c
    WHERE c.at >= $1 AND c.at < $2
    UNION ALL
    (SELECT DISTINCT ON (c.agent_id) c.id, c.agent_id, c.state, c.reason, c.at
     FROM agent_state_changes c WHERE c.at < $1
     ORDER BY c.agent_id, c.at DESC, c.id DESC)
),
spans AS (
    SELECT agent_id, state, reason, at,
           lead(at) OVER (PARTITION BY agent_id ORDER BY at, id) AS next_at
    FROM rows
),
pauses AS (
    SELECT agent_id, reason, at,
           greatest(at, $1) AS from_at,
           least(coalesce(next_at, $3), $2) AS to_at
    FROM spans WHERE state = 'paused'
)
SELECT a.login, a.display_name, (p.from_at AT TIME ZONE $4)::date AS day, p.reason,
       count(*) FILTER (WHERE p.at >= $1) AS pauses,
       sum(greatest(extract(epoch FROM p.to_at - p.from_at), 0)) AS seconds
FROM pauses p JOIN agents a ON a.id = p.agent_id
WHERE p.to_at > p.from_at OR p.at >= $1
GROUP BY a.login, a.display_name, day, p.reason
ORDER BY day, a.display_name, p.reason
"""


@dataclass(frozen=True, slots=True)
class PauseRow:
    """One agent's pauses for one reason on one day."""

    agent_id: str  # the login
    name: str
    day: date
    reason: str
    count: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "name": self.name, "day": self.day.isoformat(),
                "reason": self.reason, "count": self.count, "seconds": round(self.seconds, 1)}


async def pause_kpis(db: asyncpg.Pool | asyncpg.Connection, start: datetime, end: datetime,
                     now: datetime, tz: str = "UTC") -> list[PauseRow]:
    """Pause rows by agent, day and reason over ``[start, end)``, as of ``now``.

    Raises:
        KpiError: naive or empty period, unknown time zone.
    """
    if start.tzinfo is None or end.tzinfo is None or now.tzinfo is None:
        raise KpiError("start, end and now must be timezone-aware")
    if end <= start:
        raise KpiError("the period must end after it starts")
    check_tz(tz)
    rows = await db.fetch(_PAUSES_SQL, start, end, max(now, start), tz)
    return [PauseRow(r["login"], r["display_name"], r["day"], r["reason"], int(r["pauses"]),
                     float(r["seconds"] or 0.0)) for r in rows]


def by_reason(rows: list[PauseRow]) -> list[dict[str, Any]]:
    """Totals per reason over every agent and day, longest first."""
    totals: dict[str, list[float]] = {}
    for row in rows:
        count_seconds = totals.setdefault(row.reason, [0, 0.0])
        count_seconds[0] += row.count
        count_seconds[1] += row.seconds
    return [{"reason": reason, "count": int(c), "seconds": round(s, 1)}
            for reason, (c, s) in sorted(totals.items(), key=lambda item: -item[1][1])]
