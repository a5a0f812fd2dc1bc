"""Service KPIs over a period, from the ``calls`` and ``tickets`` tables.

Definitions (each call is counted in the period its ``arrived_at`` falls in, ``[start, end)``).
The service figures (offered, answered, abandons, service level, ASA, FCR)
count inbound calls only (``calls.direction``); callbacks the agents place count in the handling
figures (AHT, talk, hold, wrap-up, CSAT, QA) and in :mod:`callcenter.kpi.callbacks`.

* **offered**: calls that left the IVR for the queue, i.e. every call except those still in the
  IVR or that ended there (``outcome = 'ivr_hangup'``). Calls still queued or talking count as
  offered but neither answered nor abandoned.
* **answered**: ``answered_at`` is set. **abandoned**: ``outcome = 'abandoned'`` (the caller hung
  up after leaving the IVR, before an agent answered).
* **wait** of a call: from ``queued_at`` (falling back to ``arrived_at`` when the call was never
  marked queued) to ``answered_at``, or to ``ended_at`` for an abandon. Time spent in the IVR is
  self-service, not waiting for an agent, so it is left out.
* **short abandons**: abandons never answered whose wait was under ``short_abandon_s`` (default 5 s).
* **service level**: answered with a wait of at most ``target_s`` seconds, divided by the
  offered calls past the queue (answered, whether or not the call has ended yet, + abandoned +
  failed) minus the short abandons. Every call of the numerator is in the denominator, so the
  level stays within [0, 1]. ``None`` when the denominator is 0.
* **ASA**: mean wait of the answered calls, seconds.
* **talk**: the sum of the agents' legs' talk (``call_legs``: each agent from their talk's start
  to their leg's end; a transferred caller's wait for the next agent is not talk), else (calls
  stored without legs) ``ended_at − answered_at`` of an answered, ended call. The caller stays
  connected to the agent while on hold, so talk *includes* hold time. **transfers**: the agents'
  transfers of the calls (``calls.transfers``), and their mean per answered call;
  **transfers_external**: those to an outside number.
* **hold**: the time the agent kept the caller on hold from the console (``calls.hold_s``, from
  Asterisk's events), plus the stored pauses of the call's recording whose ``reason`` is
  ``hold`` (``calls.recording_pauses``, closed ones), reported separately as ``hold_s``.
* **wrap-up**: the agent's ``wrap_up`` state after the call (``agent_state_changes``): the first
  ``wrap_up`` row of ``calls.agent_id`` whose ``call_id`` is the call's linkedid, or, when the
  row names no call, that starts within 30 s after ``ended_at``; it lasts until the agent's next
  state change (a wrap-up still running is not counted). 0 when there is none.
* **AHT** (average handling time): mean of talk + wrap-up over answered, ended calls, seconds
  (hold is inside talk, so it is not added twice). ``talk_s``, ``hold_s`` and ``wrap_up_s`` give
  the parts (means over the same calls).
* **FCR** (first-contact resolution): among answered calls about something identifiable, the
  share with no repeat call in the following ``fcr_days`` (default 7) days. A call is *about*
  the orders it names: the order number keyed in the IVR (``context->>'order_number'``) and the
  orders of tickets created on it (``tickets.call_id``). A later call is a repeat when it is
  about one of the same orders, or, having no order itself, comes from the same caller number.
  A call naming no order falls back on its caller number (any later call from that number is a
  repeat); calls with neither are not counted. The repeat may arrive after the period's end:
  figures for the last ``fcr_days`` days before now are provisional.
* **QA**: mean score of the calls that have QA results (table ``qa_results``, when it exists:
  the per-call mean of its score column); ``qa_count`` of them. ``None`` when there are none.
* **CSAT**: mean of ``calls.csat`` (1–5, the post-call survey) over the calls that have one.

Groupings: ``total`` (one row), ``agent`` (each agent's part of a call, its leg: see
:mod:`callcenter.kpi.calls_sql`; calls nobody answered fall under ``None``), ``skill`` (the
part's skill: the first part's ``calls.context->>'route.skill'``, which the IVR's ``set`` nodes
write, or on a callback's own call its callback's; a later part's the skill it was transferred
to; calls routed without one fall under ``None``; a ticket's, its call's the same way),
``queue`` (skill and caller language, ``returns/zh``: the router keeps one queue per skill and
serves the language within it),
``day`` and ``hour`` (of ``arrived_at`` in the time zone ``tz``; keys are a ``date`` and a naive
local ``datetime``).

Tickets (:func:`ticket_kpis`): **opened** = ``created_at`` in the period; **closed** = status now
``resolved`` or ``closed`` and the time it got there in the period (the last ``ticket_history``
status change to resolved/closed, else ``updated_at``); **overdue** = ``reply_due_at`` before
``now`` and status not resolved/closed, a snapshot at ``now`` whatever the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from callcenter.kpi.calls_sql import ABOUT_SQL, CALLS_SQL, GROUP_SQL, PART_JOIN, route_skill

Grouping = Literal["total", "agent", "skill", "queue", "day", "hour"]
GROUPINGS: tuple[Grouping, ...] = ("total", "agent", "skill", "queue", "day", "hour")
GroupKey = int | str | date | datetime | None

_GROUP_SQL = GROUP_SQL  # the call groupings (callcenter.kpi.calls_sql)

# the score column of qa_results, in order of preference (the table may not exist yet)
_QA_SCORE_COLUMNS = ("final_score", "score", "total_score", "total")


async def _qa_expression(db: asyncpg.Pool | asyncpg.Connection) -> str:
    """SQL for a call's mean QA score, or NULL when ``qa_results`` is missing or has no usable
    columns."""
    columns = {r["column_name"]: r["data_type"] for r in await db.fetch(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = 'qa_results'")}
    score = next((c for c in _QA_SCORE_COLUMNS if c in columns
                  and columns[c] in ("integer", "smallint", "bigint", "numeric", "real",
                                     "double precision")), None)
    if "call_id" not in columns or score is None:
        return "NULL::float8"
    return f"(SELECT avg(q.{score})::float8 FROM qa_results q WHERE q.call_id = c.id)"


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
    talk_s: float | None
    hold_s: float | None
    wrap_up_s: float | None
    fcr_eligible: int
    fcr_resolved: int
    fcr_rate: float | None
    csat_responses: int
    csat_avg: float | None
    qa_count: int = 0
    qa_avg: float | None = None
    transfers: int = 0
    transfers_per_call: float | None = None
    transfers_external: int = 0

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


def check_tz(tz: str) -> None:
    """An IANA time zone name (checked here, since PostgreSQL only looks at it when a row needs it)."""
    try:
        ZoneInfo(tz)
    except (ValueError, ZoneInfoNotFoundError):
        raise KpiError(f"bad time zone {tz!r}: use an IANA name such as Asia/Shanghai") from None


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
    check_tz(tz)
    if group_by not in _GROUP_SQL:
        raise KpiError(f"unknown grouping {group_by!r}; one of {', '.join(GROUPINGS)}")
    if target_s < 0 or short_abandon_s < 0 or fcr_days < 1:
        raise KpiError("target_s and short_abandon_s must be >= 0 and fcr_days >= 1")
    sql = CALLS_SQL.format(group=_GROUP_SQL[group_by], about=ABOUT_SQL, qa=await _qa_expression(db),
                           parts=PART_JOIN.get(group_by, "false"))
    try:
        rows = await db.fetch(sql, start, end, float(target_s), float(short_abandon_s), fcr_days, tz)
    except asyncpg.InvalidParameterValueError as exc:
        raise KpiError(f"bad time zone {tz!r}: {exc}") from None
    result = [_call_row(row) for row in rows]
    if group_by == "total" and not result:
        result = [CallKpis(None, 0, 0, 0, 0, 0, None, None, None, None, None, None, 0, 0, None, 0,
                           None)]
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
        talk_s=row["talk_s"],
        hold_s=row["hold_s"],
        transfers=row["transfers"], transfers_per_call=row["transfers_per_call"],
        transfers_external=row["transfers_external"],
        wrap_up_s=row["wrap_up_s"],
        fcr_eligible=row["fcr_eligible"],
        fcr_resolved=row["fcr_resolved"],
        fcr_rate=_ratio(row["fcr_resolved"], row["fcr_eligible"]),
        csat_responses=row["csat_responses"],
        csat_avg=row["csat_avg"],
        qa_count=row["qa_count"],
        qa_avg=row["qa_avg"],
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


@dataclass(frozen=True)
class GroupTickets:
    """Ticket counts of one group (see :func:`ticket_kpis_by`)."""

    group: GroupKey
    opened: int
    closed: int
    missed_deadline: int


_TICKET_GROUP_SQL: dict[str, str] = {
    "total": "NULL::text",
    "agent": "owner_agent_id",
    "skill": "skill",
    "queue": "queue",
    "day": "({at} AT TIME ZONE $4)::date",
    "hour": "date_trunc('hour', {at} AT TIME ZONE $4)",
}

_TICKETS_BY_SQL = """
WITH t AS (
    SELECT t.id, t.created_at, t.reply_due_at, t.owner_agent_id,
           {route_skill} AS skill,
           nullif(concat_ws('/', nullif(cl.context->>'route.skill', ''),
                            nullif(cl.context->>'language', '')), '') AS queue,
           CASE WHEN t.status IN ('resolved', 'closed') THEN
               coalesce((SELECT max(h.at) FROM ticket_history h
                         WHERE h.ticket_id = t.id AND h.field = 'status'
                           AND h.new_value IN ('resolved', 'closed')), t.updated_at) END AS closed_at
    FROM tickets t LEFT JOIN calls cl ON cl.id = t.call_id
    WHERE ($4::text IS NOT NULL)
)
SELECT grp, sum(opened)::int AS opened, sum(closed)::int AS closed, sum(missed)::int AS missed
FROM (
    SELECT {created} AS grp, 1 AS opened, 0 AS closed, 0 AS missed FROM t
    WHERE created_at >= $1 AND created_at < $2
    UNION ALL
    SELECT {closed}, 0, 1, 0 FROM t WHERE closed_at >= $1 AND closed_at < $2
    UNION ALL
    SELECT {due}, 0, 0, 1 FROM t
    WHERE reply_due_at >= $1 AND reply_due_at < $2 AND reply_due_at < $3
      AND (closed_at IS NULL OR closed_at > reply_due_at)
) AS x
GROUP BY grp ORDER BY grp NULLS LAST
"""


async def ticket_kpis_by(db: asyncpg.Pool | asyncpg.Connection, start: datetime, end: datetime,
                         now: datetime, group_by: Grouping = "total", *,
                         tz: str = "UTC") -> list[GroupTickets]:
    """Tickets opened, closed and missing their reply deadline in ``[start, end)``, per group
    (see the module docstring). ``total`` gives one row, zeros for an empty period."""
    _check_period(start, end)
    if now.tzinfo is None:
        raise KpiError("now must be timezone-aware")
    check_tz(tz)
    if group_by not in _TICKET_GROUP_SQL:
        raise KpiError(f"unknown grouping {group_by!r}; one of {', '.join(GROUPINGS)}")
    template = _TICKET_GROUP_SQL[group_by]
    sql = _TICKETS_BY_SQL.format(created=template.format(at="created_at"),
                                 closed=template.format(at="closed_at"),
                                 due=template.format(at="reply_due_at"), route_skill=route_skill("cl"))
    try:
        rows = await db.fetch(sql, start, end, now, tz)
    except asyncpg.InvalidParameterValueError as exc:
        raise KpiError(f"bad time zone {tz!r}: {exc}") from None
    result = [GroupTickets(r["grp"], r["opened"], r["closed"], r["missed"]) for r in rows]
    if group_by == "total" and not result:
        result = [GroupTickets(None, 0, 0, 0)]
    return result
