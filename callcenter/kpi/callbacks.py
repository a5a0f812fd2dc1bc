"""Callback KPIs for a period (``callbacks`` rows, migration 013, by the time of the offer):
offered, accepted, declined, completed (the agent talked with the customer), failed (every
attempt failed: a ticket), still open, and the time to callback (from the caller taking it to
the customer answering: mean and longest).

The callback calls themselves (``calls`` rows with ``direction = 'callback'``, migration 016, by
the time the agent's phone was rung): ``attempts`` placed, ``reached`` (the customer answered),
``unreached`` (ended without the customer: busy, no answer, the agent never answered) and the
mean ``talk_s`` of the reached ones that ended. They are not in the inbound service figures
(:mod:`callcenter.kpi.report`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import asyncpg

_SQL = """
SELECT count(*) AS offered,
       count(*) FILTER (WHERE accepted_at IS NOT NULL) AS accepted,
       count(*) FILTER (WHERE status = 'declined') AS declined,
       count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status IN ('waiting', 'connected')) AS open,
       avg(extract(epoch FROM connected_at - accepted_at)) AS time_to_callback_s,
       max(extract(epoch FROM connected_at - accepted_at)) AS longest_time_to_callback_s
FROM callbacks WHERE offered_at >= $1 AND offered_at < $2
"""

_CALLS_SQL = """
SELECT count(*) AS attempts,
       count(*) FILTER (WHERE answered_at IS NOT NULL) AS reached,
       count(*) FILTER (WHERE state = 'ended' AND answered_at IS NULL) AS unreached,
       avg(extract(epoch FROM ended_at - answered_at))
           FILTER (WHERE answered_at IS NOT NULL AND ended_at IS NOT NULL)::float8 AS talk_s
FROM calls WHERE direction = 'callback' AND arrived_at >= $1 AND arrived_at < $2
"""


@dataclass(frozen=True, slots=True)
class CallbackKpis:
    offered: int
    accepted: int
    declined: int
    completed: int
    failed: int
    open: int
    time_to_callback_s: float | None
    longest_time_to_callback_s: float | None
    attempts: int = 0
    reached: int = 0
    unreached: int = 0
    talk_s: float | None = None

    @property
    def acceptance_rate(self) -> float | None:
        return round(self.accepted / self.offered, 4) if self.offered else None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("time_to_callback_s", "longest_time_to_callback_s", "talk_s"):
            if out[name] is not None:
                out[name] = round(out[name], 1)
        out["acceptance_rate"] = self.acceptance_rate
        return out


async def callback_kpis(db: asyncpg.Pool | asyncpg.Connection, start: datetime,
                        end: datetime) -> CallbackKpis:
    row = await db.fetchrow(_SQL, start, end)
    calls = await db.fetchrow(_CALLS_SQL, start, end)
    assert row is not None and calls is not None
    times = [None if row[k] is None else float(row[k])
             for k in ("time_to_callback_s", "longest_time_to_callback_s")]
    return CallbackKpis(int(row["offered"]), int(row["accepted"]), int(row["declined"]),
                        int(row["completed"]), int(row["failed"]), int(row["open"]), times[0],
                        times[1], attempts=int(calls["attempts"]), reached=int(calls["reached"]),
                        unreached=int(calls["unreached"]),
                        talk_s=None if calls["talk_s"] is None else float(calls["talk_s"]))
