"""The SQL of the call KPIs (:mod:`callcenter.kpi.report` has the definitions).

Grouped by ``agent`` or ``skill``, the unit is each agent's *part* of a call: one row per agent
leg that talked to the caller (``call_legs``, in the order their talk began), so a transferred
call counts under every agent who handled it. A part's talk is that agent's talk; its wait runs
from the previous agent's transfer (the first part: from the queue) to the agent's talk, and is
never negative (a colleague joining a three-way talks before the first agent leaves: their wait
ends when the conference starts); its transfers are 1 when the agent transferred the caller,
blind or after a consultation (``transfers_external``: to an outside number); its wrap-up is
that agent's after their leg; FCR, CSAT and QA go to the last part (whose leg ended last, who
finished the call). The skill of a part is the skill the previous agent blind-transferred to
(the first part, one after a consultation or conference, and one after an outside number that
did not answer: the call's route skill; on a callback's own call, its callback's skill). Calls
stored without legs, and the other groupings, count each call once, as a whole: its talk is the
time anyone talked to the caller (the union of the legs' talk, so a three-way's overlap counts
once).
"""

from __future__ import annotations


def route_skill(call: str) -> str:
    """SQL: the route skill of the ``calls`` row aliased ``call``: what the IVR set, or on a
    callback's own call (which had no IVR) its callback's (the ``callbacks`` row of the call it
    answers: its skill, else the one its request named, as a restarted server reads it)."""
    return (f"coalesce(nullif({call}.context->>'route.skill', ''),"
            f" (SELECT coalesce(nullif(b.skill, ''), nullif(b.request->>'skill', '')) FROM callbacks b"
            f" WHERE b.call_linkedid = {call}.callback_of))")


_ROUTE_SKILL = route_skill("c")
# a blind transfer names the skill; a consult names the colleague, a conference nothing
_PART_SKILL = ("nullif(CASE WHEN p.came_how = 'transfer' AND p.came_by IS NOT NULL"
               " AND p.came_by NOT LIKE 'external:%'"
               f" THEN p.came_by ELSE {_ROUTE_SKILL} END, '')")

GROUP_SQL: dict[str, str] = {
    "total": "NULL::text",
    "agent": "coalesce(p.agent_id, c.agent_id)",
    "skill": _PART_SKILL,
    "queue": "nullif(concat_ws('/', nullif(c.context->>'route.skill', ''),"
             " nullif(c.context->>'language', '')), '')",
    "day": "(c.arrived_at AT TIME ZONE $6)::date",
    "hour": "date_trunc('hour', c.arrived_at AT TIME ZONE $6)",
}

# the groupings counted by parts (the others join no part)
PART_JOIN = {"agent": "p.call_id = c.id", "skill": "p.call_id = c.id"}

# calls -> the orders they are about (IVR order number, orders of tickets created on the call)
ABOUT_SQL = """
SELECT id, array_agg(DISTINCT key) AS keys FROM (
    SELECT id, context->>'order_number' AS key FROM calls
    WHERE arrived_at >= $1 AND arrived_at < $2::timestamptz + make_interval(days => $5)
      AND coalesce(context->>'order_number', '') <> ''
    UNION ALL
    SELECT x.id, o.order_number FROM tickets t JOIN orders o ON o.id = t.order_id
                                 JOIN calls x ON x.id = t.call_id
    WHERE x.arrived_at >= $1 AND x.arrived_at < $2::timestamptz + make_interval(days => $5)
) AS k GROUP BY id
"""

CALLS_SQL = """
WITH about AS ({about}),
parts AS (
    SELECT l.call_id, l.agent_id, l.talk_started_at, l.ended_at, l.ended_how, l.transferred_to,
           lag(l.transferred_to) OVER w AS came_by, lag(l.ended_how) OVER w AS came_how,
           lag(l.ended_at) OVER w AS came_at,
           row_number() OVER (PARTITION BY l.call_id ORDER BY l.ended_at DESC NULLS FIRST,
                                                          l.talk_started_at DESC, l.id DESC) = 1
               AS last
    FROM call_legs l
    WHERE l.role = 'agent' AND l.talk_started_at IS NOT NULL
      AND l.call_id IN (SELECT id FROM calls WHERE arrived_at >= $1 AND arrived_at < $2)
    WINDOW w AS (PARTITION BY l.call_id ORDER BY l.talk_started_at, l.id)
),
c AS (
    SELECT c.id, c.caller_number, c.outcome, c.arrived_at, c.ended_at,
           CASE WHEN p.came_at IS NOT NULL THEN p.talk_started_at ELSE c.answered_at END
               AS answered_at,
           CASE WHEN coalesce(p.last, true) THEN c.csat END AS csat,
           c.direction = 'inbound' AS inbound,
           least(coalesce(p.came_at, c.queued_at, c.arrived_at),
                 CASE WHEN p.came_at IS NOT NULL THEN p.talk_started_at END) AS wait_from,
           {group} AS grp,
           CASE WHEN p.call_id IS NOT NULL
                THEN extract(epoch FROM p.ended_at - p.talk_started_at)
                ELSE coalesce((SELECT sum(extract(epoch FROM upper(r) - lower(r)))
                               FROM unnest((SELECT range_agg(tstzrange(l.talk_started_at, l.ended_at))
                                            FROM call_legs l
                                            WHERE l.call_id = c.id AND l.ended_at IS NOT NULL
                                              AND l.talk_started_at IS NOT NULL)) AS r),
                              extract(epoch FROM c.ended_at - c.answered_at)) END AS talk,
           CASE WHEN p.call_id IS NOT NULL THEN (p.ended_how IN ('transfer', 'consult'))::int
                ELSE c.transfers END AS transfers,
           CASE WHEN p.call_id IS NOT NULL THEN (p.transferred_to LIKE 'external:%')::int
                ELSE (SELECT count(*) FROM call_legs l WHERE l.call_id = c.id AND l.role = 'agent'
                      AND l.transferred_to LIKE 'external:%') END AS transfers_external,
           c.hold_s + (SELECT coalesce(sum(extract(epoch FROM (h->>'end')::timestamptz
                                                          - (h->>'start')::timestamptz)), 0)
                       FROM jsonb_array_elements(c.recording_pauses) AS h
                       WHERE h->>'reason' = 'hold' AND coalesce(h->>'end', '') <> '') AS hold,
           coalesce((SELECT extract(epoch FROM nxt.at - w.at)
                     FROM agent_state_changes w
                     CROSS JOIN LATERAL (SELECT n.at FROM agent_state_changes n
                                         WHERE n.agent_id = w.agent_id AND n.at > w.at
                                         ORDER BY n.at LIMIT 1) AS nxt
                     WHERE coalesce(p.agent_id, c.agent_id) IS NOT NULL AND c.ended_at IS NOT NULL
                       AND w.agent_id = coalesce(p.agent_id, c.agent_id) AND w.state = 'wrap_up'
                       AND (w.call_id = c.linkedid
                            OR (w.call_id = ''
                                AND w.at >= coalesce(p.ended_at, c.ended_at) - interval '1 second'
                                AND w.at <= coalesce(p.ended_at, c.ended_at) + interval '30 seconds'))
                     ORDER BY (w.call_id = c.linkedid) DESC, w.at LIMIT 1), 0) AS wrap,
           CASE WHEN coalesce(p.last, true) THEN {qa} END AS qa,
           ca.keys AS keys,
           (c.direction = 'inbound' AND c.answered_at IS NOT NULL AND coalesce(p.last, true)
            AND (ca.keys IS NOT NULL OR coalesce(c.caller_number, '') <> '')) AS fcr_eligible,
           EXISTS (SELECT 1 FROM calls r LEFT JOIN about ra ON ra.id = r.id
                   WHERE r.id <> c.id AND r.direction = 'inbound' AND r.arrived_at > c.arrived_at
                     AND r.arrived_at <= c.arrived_at + make_interval(days => $5)
                     AND CASE WHEN ca.keys IS NOT NULL
                              THEN ra.keys && ca.keys
                                   OR (ra.keys IS NULL AND r.caller_number = c.caller_number)
                              ELSE r.caller_number = c.caller_number END) AS repeated
    FROM calls c LEFT JOIN about ca ON ca.id = c.id LEFT JOIN parts p ON {parts}
    WHERE c.arrived_at >= $1 AND c.arrived_at < $2
      AND c.state <> 'ivr' AND c.outcome IS DISTINCT FROM 'ivr_hangup'
      AND ($6::text IS NOT NULL)  -- names $6 (tz) for groupings that do not use it
)
SELECT grp,
       count(*) FILTER (WHERE inbound) AS offered,
       count(*) FILTER (WHERE inbound AND answered_at IS NOT NULL) AS answered,
       count(*) FILTER (WHERE inbound AND outcome = 'abandoned') AS abandoned,
       count(*) FILTER (WHERE inbound AND outcome = 'abandoned' AND answered_at IS NULL
                          AND ended_at - wait_from < make_interval(secs => $4)) AS short_abandons,
       count(*) FILTER (WHERE inbound AND (answered_at IS NOT NULL
                                           OR outcome IN ('abandoned', 'failed'))) AS finished,
       count(*) FILTER (WHERE inbound AND answered_at IS NOT NULL
                          AND answered_at - wait_from <= make_interval(secs => $3)) AS within_target,
       avg(extract(epoch FROM answered_at - wait_from))
           FILTER (WHERE inbound AND answered_at IS NOT NULL)::float8 AS asa_s,
       avg(talk + wrap) FILTER (WHERE answered_at IS NOT NULL AND ended_at IS NOT NULL)::float8 AS aht_s,
       avg(talk) FILTER (WHERE answered_at IS NOT NULL AND ended_at IS NOT NULL)::float8 AS talk_s,
       avg(hold) FILTER (WHERE answered_at IS NOT NULL AND ended_at IS NOT NULL)::float8 AS hold_s,
       avg(wrap) FILTER (WHERE answered_at IS NOT NULL AND ended_at IS NOT NULL)::float8 AS wrap_up_s,
       sum(transfers) AS transfers,
       sum(transfers_external)::int AS transfers_external,
       avg(transfers) FILTER (WHERE answered_at IS NOT NULL)::float8 AS transfers_per_call,
       count(*) FILTER (WHERE fcr_eligible) AS fcr_eligible,
       count(*) FILTER (WHERE fcr_eligible AND NOT repeated) AS fcr_resolved,
       count(csat) AS csat_responses,
       avg(csat)::float8 AS csat_avg,
       count(qa) AS qa_count,
       avg(qa)::float8 AS qa_avg
FROM c
GROUP BY grp
ORDER BY grp NULLS LAST
"""
