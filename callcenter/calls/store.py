"""Calls, legs and recordings in PostgreSQL: batched upserts, safe to repeat."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog

from callcenter.calls.model import Call, CallState, Direction, Outcome
from callcenter.metrics import Metrics
from callcenter.store.rows import ROW_ERRORS, db_int, db_json, db_text, write_isolating

log = structlog.get_logger("callcenter.calls")

_UPSERT_CALLS = """
INSERT INTO calls (linkedid, caller_channel, caller_number, caller_name, state, outcome,
                   agent_channel, digits, hangup_cause, hangup_by, arrived_at, queued_at,
                   answered_at, bridged_at, ended_at, offers, recording_pauses, end_reason,
                   hold_s, hold_count, direction, callback_of, transfers, updated_at)
SELECT * , now() FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::text[], $7::text[], $8::text[], $9::int[], $10::text[],
                             $11::timestamptz[], $12::timestamptz[], $13::timestamptz[],
                             $14::timestamptz[], $15::timestamptz[], $16::jsonb[], $17::jsonb[],
                             $18::text[], $19::float8[], $20::int[], $21::text[], $22::text[],
                             $23::int[])
ON CONFLICT (linkedid) DO UPDATE SET
    caller_channel = EXCLUDED.caller_channel, caller_number = EXCLUDED.caller_number,
    caller_name = EXCLUDED.caller_name, state = EXCLUDED.state, outcome = EXCLUDED.outcome,
    agent_channel = EXCLUDED.agent_channel, digits = EXCLUDED.digits,
    hangup_cause = EXCLUDED.hangup_cause, hangup_by = EXCLUDED.hangup_by,
    arrived_at = LEAST(calls.arrived_at, EXCLUDED.arrived_at), queued_at = EXCLUDED.queued_at,
    answered_at = EXCLUDED.answered_at, bridged_at = EXCLUDED.bridged_at,
    ended_at = EXCLUDED.ended_at, offers = EXCLUDED.offers,
    recording_pauses = EXCLUDED.recording_pauses,
    end_reason = coalesce(EXCLUDED.end_reason, calls.end_reason),
    hold_s = GREATEST(calls.hold_s, EXCLUDED.hold_s),
    hold_count = GREATEST(calls.hold_count, EXCLUDED.hold_count),
    direction = EXCLUDED.direction, callback_of = EXCLUDED.callback_of,
    transfers = GREATEST(calls.transfers, EXCLUDED.transfers), updated_at = now()
"""

_UPSERT_LEGS = """
INSERT INTO call_legs (call_id, uniqueid, channel, role, created_at, answered_at, ended_at,
                       hangup_cause, dial_status, agent_id, talk_started_at, ended_how,
                       transferred_to, note)
SELECT c.id, l.uniqueid, l.channel, l.role, l.created_at, l.answered_at, l.ended_at,
       l.hangup_cause, l.dial_status, a.id, l.talk_started_at, l.ended_how, l.transferred_to,
       l.note
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
            $6::timestamptz[], $7::timestamptz[], $8::int[], $9::text[], $10::text[],
            $11::timestamptz[], $12::text[], $13::text[], $14::text[])
     AS l(linkedid, uniqueid, channel, role, created_at, answered_at, ended_at, hangup_cause,
          dial_status, agent, talk_started_at, ended_how, transferred_to, note)
JOIN calls c ON c.linkedid = l.linkedid
LEFT JOIN agents a ON a.login = l.agent
ON CONFLICT (uniqueid) DO UPDATE SET
    call_id = EXCLUDED.call_id, role = EXCLUDED.role, answered_at = EXCLUDED.answered_at,
    ended_at = EXCLUDED.ended_at, hangup_cause = EXCLUDED.hangup_cause,
    dial_status = EXCLUDED.dial_status,
    agent_id = coalesce(EXCLUDED.agent_id, call_legs.agent_id),
    talk_started_at = coalesce(EXCLUDED.talk_started_at, call_legs.talk_started_at),
    ended_how = coalesce(EXCLUDED.ended_how, call_legs.ended_how),
    transferred_to = coalesce(EXCLUDED.transferred_to, call_legs.transferred_to),
    note = coalesce(EXCLUDED.note, call_legs.note)
"""

_INSERT_RECORDINGS = """
INSERT INTO recordings (call_id, kind, path, started_at, status)
SELECT c.id, r.kind, r.path, r.started_at, 'recording'
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
     AS r(linkedid, kind, path, started_at)
JOIN calls c ON c.linkedid = r.linkedid
ON CONFLICT (path) DO UPDATE SET call_id = EXCLUDED.call_id
"""


def recording_kind(path: str) -> str:
    if path.endswith("-customer.wav"):
        return "customer"
    if path.endswith("-agent.wav"):
        return "agent"
    return "mixed"


@dataclass(slots=True)
class _CallRows:
    """One call's rows: written together, refused together."""

    linkedid: str
    call: list[Any]
    legs: list[list[Any]]
    recordings: list[list[Any]]


def _call_rows(call: Call) -> _CallRows:
    record = call.to_record()
    t = db_text
    row = [t(call.linkedid), t(record["caller_channel"]), t(record["caller_number"]),
           t(record["caller_name"]), call.state.value, record["outcome"],
           t(record["agent_channel"]), t(call.digits), db_int(call.hangup_cause),
           t(record["hangup_by"]), _ts(call.arrived_at), _ts(call.queued_at),
           _ts(call.answered_at), _ts(call.bridged_at), _ts(call.ended_at),
           db_json(record["offers"]),
           db_json([[_iso(a), _iso(b)] for a, b in call.recording_pauses]),
           t(record["end_reason"]), round(call.hold_s, 3), call.hold_count,
           call.direction.value, t(call.callback_of or None), call.transfers]
    legs = [[t(call.linkedid), t(leg.uniqueid), t(leg.channel), t(str(leg.role)), _ts(leg.created_at),
             _ts(leg.answered_at), _ts(leg.ended_at), db_int(leg.hangup_cause),
             t(leg.dial_status or None), t(leg.offer.agent_id or None) if leg.offer else None,
             _ts(leg.talk_from), t(leg.ended_how or None), t(leg.transferred_to or None),
             t(leg.note or None)] for leg in call.legs.values()]
    started = call.bridged_at or call.arrived_at
    recordings = [[t(call.linkedid), recording_kind(path), t(path), _ts(started)]
                  for path in call.recordings]
    return _CallRows(call.linkedid, row, legs, recordings)


class CallStore:
    """Writes tracker calls; reads back what a restarted server needs.

    A call the database refuses (see :mod:`callcenter.store.rows`) is logged with its id,
    counted (``rejected``, metric ``callcenter_db_rows_rejected{writer="calls"}``) and left
    out; the other calls of the batch are stored.
    """

    def __init__(self, pool: asyncpg.Pool, metrics: Metrics | None = None) -> None:
        self._pool = pool
        self._metrics = metrics
        self.rejected = 0

    async def save_calls(self, calls: list[Call]) -> None:
        if not calls:
            return
        bundles: list[_CallRows] = []
        for call in calls:
            try:
                bundles.append(_call_rows(call))
            except ROW_ERRORS as exc:
                self._reject(call.linkedid, exc)
        await write_isolating(bundles, self._write,
                              lambda rows, exc: self._reject(rows.linkedid, exc))

    def _reject(self, linkedid: str, exc: BaseException) -> None:
        self.rejected += 1
        if self._metrics is not None:
            self._metrics.db_rows_rejected.labels("calls").inc()
        log.error("call_row_rejected", call_id=linkedid, error=f"{type(exc).__name__}: {exc}"[:300])

    async def _write(self, bundles: Sequence[_CallRows]) -> int:
        call_cols: list[list[Any]] = [list(col) for col in zip(*(b.call for b in bundles), strict=True)]
        legs = [leg for b in bundles for leg in b.legs]
        recs = [rec for b in bundles for rec in b.recordings]
        leg_cols: list[list[Any]] = [list(col) for col in zip(*legs, strict=True)] or [[]] * 14
        rec_cols: list[list[Any]] = [list(col) for col in zip(*recs, strict=True)]
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_UPSERT_CALLS, *call_cols)
            await conn.execute(_UPSERT_LEGS, *leg_cols)
            if rec_cols:
                await conn.execute(_INSERT_RECORDINGS, *rec_cols)
        return len(bundles)

    async def drop_calls(self, linkedids: list[str]) -> None:
        """Remove rows of calls the tracker merged into another; call after :meth:`save_calls`
        has moved their legs and recordings to the surviving call."""
        if linkedids:
            await self._pool.execute(
                "DELETE FROM calls WHERE linkedid = ANY($1::text[])", linkedids)

    async def load_live(self, linkedids: list[str]) -> dict[str, asyncpg.Record]:
        if not linkedids:
            return {}
        rows = await self._pool.fetch(
            "SELECT c.*, coalesce((SELECT array_agg(path ORDER BY id) FROM recordings r"
            " WHERE r.call_id = c.id), '{}') AS recording_paths"
            " FROM calls c WHERE linkedid = ANY($1::text[])", linkedids)
        return {row["linkedid"]: row for row in rows}

    @staticmethod
    def restore(call: Call, row: asyncpg.Record) -> None:
        """Fill in what CoreShowChannels cannot tell: digits, times, recordings, offers, and
        whether the call is a callback (of which call)."""
        call.digits = call.digits or row["digits"] or ""
        if row["arrived_at"] is not None:
            call.arrived_at = min(call.arrived_at, row["arrived_at"].timestamp())
        for name in ("queued_at", "answered_at", "bridged_at"):
            value = row[name]
            if getattr(call, name) is None and value is not None:
                setattr(call, name, value.timestamp())
        for path in row["recording_paths"]:
            if path not in call.recordings:
                call.recordings.append(path)
        if call.state is CallState.IVR and call.queued_at is not None:
            call.state = CallState.QUEUED  # on hold in the queue: AGI too, as seen in the lists
        if call.state is CallState.ENDED and row["outcome"] and call.outcome is None:
            call.outcome = Outcome(row["outcome"])
        call.hold_s = max(call.hold_s, float(row["hold_s"] or 0.0))
        call.hold_count = max(call.hold_count, int(row["hold_count"] or 0))
        if row["callback_of"] and call.direction is Direction.INBOUND:
            call.direction, call.callback_of = Direction.CALLBACK, row["callback_of"]
        elif row["callback_of"] and not call.callback_of:  # a callback found in the lists
            call.callback_of = row["callback_of"]
        call.transfers = max(call.transfers, int(row["transfers"] or 0))

    async def close_unseen(self, live: list[str], before: float, reason: str) -> list[str]:
        """End the stored calls still live in the database that Asterisk no longer has (not in
        ``live``, arrived before ``before``): their end was never seen, so ``end_reason`` says
        why, ``hangup_by`` is unknown and the outcome is what is known (answered, hung up in
        the IVR, else failed). Returns their linkedids."""
        rows = await self._pool.fetch(
            """UPDATE calls SET state = 'ended', end_reason = $3, hangup_by = 'unknown',
                   ended_at = coalesce(ended_at, greatest(arrived_at, updated_at)),
                   outcome = coalesce(outcome, CASE WHEN answered_at IS NOT NULL THEN 'answered'
                                                    WHEN state = 'ivr' THEN 'ivr_hangup'
                                                    ELSE 'failed' END)
               WHERE state <> 'ended' AND linkedid <> ALL($1::text[]) AND arrived_at < $2
               RETURNING linkedid""",
            live, datetime.fromtimestamp(before, UTC), reason)
        return [row["linkedid"] for row in rows]

    async def event_sequences(self, scopes: list[str]) -> dict[str, int]:
        if not scopes:
            return {}
        rows = await self._pool.fetch(
            "SELECT scope, max(seq) AS seq FROM call_events WHERE scope = ANY($1::text[])"
            " GROUP BY scope", scopes)
        return {row["scope"]: row["seq"] for row in rows}


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _iso(value: float | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).isoformat()
