"""Service KPIs over a period, from the ``calls`` and ``tickets`` tables.

Definitions (each call is counted in the period its ``arrived_at`` falls in, ``[start, end)``):

* **offered**: calls that left the IVR for the queue, i.e. every call except those still in the
  IVR or that ended there (``outcome = 'ivr_hangup'``). Calls still queued or talking count as
  offered but neither answered nor abandoned.
* **answered**: ``answered_at`` is set. **abandoned**: ``outcome = 'abandoned'`` (the caller hung
  up after leaving the IVR, before an agent answered).
* **wait** of a call: from ``queued_at`` (falling back to ``arrived_at`` when the call was never
  marked queued) to ``answered_at``, or to ``ended_at`` for an abandon. Time spent in the IVR is
  self-service, not waiting for an agent, so it is left out.
* **short abandons**: abandons whose wait was at most ``short_abandon_s`` (default 5 s).
* **service level**: answered with a wait of at most ``target_s`` seconds, divided by the
  offered calls that have finished (answered + abandoned + failed) minus the short abandons.
  ``None`` when that is 0.
* **ASA**: mean wait of the answered calls, seconds.
* **AHT**: mean talk time ``ended_at − answered_at`` of answered, ended calls, seconds. Hold time
  and after-call work are not tracked yet, so this is talk time only.
* **FCR** (first-contact resolution): among answered calls with a caller number, the share with
  no other call from the same ``caller_number`` arriving in the following ``fcr_days`` (default
  7) days. Any later call counts as a repeat, whatever its outcome, and it may arrive after the
  period's end: figures for the last ``fcr_days`` days before now are provisional.
* **CSAT**: mean of ``calls.csat`` (1–5, the post-call survey) over the calls that have one.

Groupings: ``total`` (one row), ``agent`` (``calls.agent_id``; calls nobody answered fall
under ``None``), ``skill`` (``calls.context->>'route.skill'``, which the IVR's ``set`` nodes
write; calls routed without one fall under ``None``), ``day`` and ``hour`` (of ``arrived_at``
in the time zone ``tz``; keys are a ``date`` and a naive local ``datetime``).

Tickets (:func:`ticket_kpis`): **opened** = ``created_at`` in the period; **closed** = status now
``resolved`` or ``closed`` and the time it got there in the period (the last ``ticket_history``
status change to resolved/closed, else ``updated_at``); **overdue** = ``reply_due_at`` before
``now`` and status not resolved/closed, a snapshot at ``now`` whatever the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import asyncpg

Grouping = Literal["total", "agent", "skill", "day", "hour"]
GROUPINGS: tuple[Grouping, ...] = ("total", "agent", "skill", "day", "hour")
GroupKey = int | str | date | datetime | None

_GROUP_SQL: dict[str, str] = {
    "total": "NULL::text",
    "agent": "c.agent_id",
    "skill": "nullif(c.context->>'route.skill', '')",
    "day": "(c.arrived_at AT TIME ZONE $6)::date",
    "hour": "date_trunc('hour', c.arrived_at AT TIME ZONE $6)",
}

_CALLS_SQL = """
WITH c AS (
    SELECT c.id, c.caller_number, c.outcome, c.arrived_at, c.answered_at, c.ended_at, c.csat,
           coalesce(c.queued_at, c.arrived_at) AS wait_from,
           {group} AS grp,
           (c.answered_at IS NOT NULL AND coalesce(c.caller_number, '') <> '') AS fcr_eligible,
           EXISTS (SELECT 1 FROM calls r
                   WHERE r.caller_number = c.caller_number AND r.id <> c.id
                     AND r.arrived_at > c.arrived_at
                     AND r.arrived_at <= c.arrived_at + make_interval(days => $5)) AS repeated
    FROM calls c
    WHERE c.arrived_at >= $1 AND c.arrived_at < $2
      AND c.state <> 'ivr' AND c.outcome IS DISTINCT FROM 'ivr_hangup'
      AND ($6::text IS NOT NULL)  -- names $6 (tz) for groupings that do not use it
)
SELECT grp,
       count(*) AS offered,
       count(*) FILTER (WHERE answered_at IS NOT NULL) AS answered,
       count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned,
       count(*) FILTER (WHERE outcome = 'abandoned'
                          AND ended_at - wait_from <= make_interval(secs => $4)) AS short_abandons,
       count(*) FILTER (WHERE outcome IN ('answered', 'abandoned', 'failed')) AS finished,
       count(*) FILTER (WHERE answered_at IS NOT NULL
                          AND answered_at - wait_from <= make_interval(secs => $3)) AS within_target,
       avg(extract(epoch FROM answered_at - wait_from))
           FILTER (WHERE answered_at IS NOT NULL)::float8 AS asa_s,
       avg(extract(epoch FROM ended_at - answered_at))
           FILTER (WHERE answered_at IS NOT NULL AND ended_at IS NOT NULL)::float8 AS aht_s,
       count(*) FILTER (WHERE fcr_eligible) AS fcr_eligible,
       count(*) FILTER (WHERE fcr_eligible AND NOT repeated) AS fcr_resolved,
       count(csat) AS csat_responses,
       avg(csat)::float8 AS csat_avg
FROM c
GROUP BY grp
ORDER BY grp NULLS LAST
"""

_TICKETS_SQL = """
SELECT
    (SELECT count(*) FROM tickets WHERE created_at >= $1 AND created_at < $2) AS opened,
    (SELECT count(*) FROM tickets t
     WHERE t.status IN ('resolved', 'closed')
       AND coalesce((SELECT max(h.at) FROM ticket_history h
                     WHERE h.ticket_id = t.id AND h.field = 'status'
                       AND h.new_value IN ('resolved', 'closed')), t.updated_at) >= $1
       AND coalesce((SELECT max(h.at) FROM ticket_history h
                     WHERE h.ticket_id = t.id AND h.field = 'status'
                       AND h.new_value IN ('resolved', 'closed')), t.updated_at) < $2) AS closed,
    (SELECT count(*) FROM tickets
     WHERE reply_due_at < $3 AND status NOT IN ('resolved', 'closed')) AS overdue
"""


class KpiError(ValueError):
    """Arguments the report cannot take (unknown grouping, an empty period, …)."""


@dataclass(frozen=True)
class CallKpis:
    """The call KPIs of one group (see the module docstring for the definitions)."""

    group: GroupKey
    offered: int
    answered: int
    abandoned: int
    short_abandons: int
    answered_within_target: int
    service_level: float | None
    asa_s: float | None
    aht_s: float | None
    fcr_eligible: int
    fcr_resolved: int
    fcr_rate: float | None
    csat_responses: int
    csat_avg: float | None

    def to_json(self) -> dict[str, Any]:
        out = self.__dict__.copy()
        if isinstance(self.group, date | datetime):
            out["group"] = self.group.isoformat()
        return out


@dataclass(frozen=True)
class TicketKpis:
    opened: int
    closed: int
    overdue: int


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


def service_level(within_target: int, finished: int, short_abandons: int) -> float | None:
    """Answered within target / (finished offered calls − short abandons); None when 0."""
    return _ratio(within_target, finished - short_abandons)


def _check_period(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise KpiError("start and end must be timezone-aware")
    if end <= start:
        raise KpiError("the period must end after it starts")


async def call_kpis(db: asyncpg.Pool | asyncpg.Connection, start: datetime, end: datetime,
                    group_by: Grouping = "total", *, target_s: float = 20.0,
                    short_abandon_s: float = 5.0, fcr_days: int = 7,
                    tz: str = "UTC") -> list[CallKpis]:
    """Call KPIs of the calls that arrived in ``[start, end)``, one row per group, ordered by the
    group key (``None`` last). ``total`` gives one row, with zeros for an empty period."""
    _check_period(start, end)
    if group_by not in _GROUP_SQL:
        raise KpiError(f"unknown grouping {group_by!r}; one of {', '.join(GROUPINGS)}")
    if target_s < 0 or short_abandon_s < 0 or fcr_days < 1:
        raise KpiError("target_s and short_abandon_s must be >= 0 and fcr_days >= 1")
    sql = _CALLS_SQL.format(group=_GROUP_SQL[group_by])
    try:
        rows = await db.fetch(sql, start, end, float(target_s), float(short_abandon_s), fcr_days, tz)
    except asyncpg.InvalidParameterValueError as exc:
        raise KpiError(f"bad time zone {tz!r}: {exc}") from None
    result = [_call_row(row) for row in rows]
    if group_by == "total" and not result:
        result = [CallKpis(None, 0, 0, 0, 0, 0, None, None, None, 0, 0, None, 0, None)]
    return result


def _call_row(row: asyncpg.Record) -> CallKpis:
    return CallKpis(
        group=row["grp"],
        offered=row["offered"],
        answered=row["answered"],
        abandoned=row["abandoned"],
        short_abandons=row["short_abandons"],
        answered_within_target=row["within_target"],
        service_level=service_level(row["within_target"], row["finished"], row["short_abandons"]),
        asa_s=row["asa_s"],
        aht_s=row["aht_s"],
        fcr_eligible=row["fcr_eligible"],
        fcr_resolved=row["fcr_resolved"],
        fcr_rate=_ratio(row["fcr_resolved"], row["fcr_eligible"]),
        csat_responses=row["csat_responses"],
        csat_avg=row["csat_avg"],
    )


async def ticket_kpis(db: asyncpg.Pool | asyncpg.Connection, start: datetime, end: datetime,
                      now: datetime) -> TicketKpis:
    """Tickets opened and closed in ``[start, end)``, and overdue at ``now``."""
    _check_period(start, end)
    if now.tzinfo is None:
        raise KpiError("now must be timezone-aware")
    row = await db.fetchrow(_TICKETS_SQL, start, end, now)
    assert row is not None
    return TicketKpis(opened=row["opened"], closed=row["closed"], overdue=row["overdue"])
