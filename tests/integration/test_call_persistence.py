"""Calls and the raw event log in a real PostgreSQL, written idempotently."""

from __future__ import annotations

import asyncpg
import pytest

from callcenter.calls.dispatch import CallDispatcher
from callcenter.calls.recorder import CallRecorder
from callcenter.calls.store import CallStore
from callcenter.calls.tracker import CallTracker
from callcenter.server.replay import events_and_actions, replay
from callcenter.store.events import EventLogWriter
from tests.amilab import CAPTURES, capture


@pytest.fixture
def pool(fresh_pool: asyncpg.Pool) -> asyncpg.Pool:
    """A database of this test's own (rows counted from zero)."""
    return fresh_pool


async def record(pool: asyncpg.Pool, name: str) -> CallRecorder:
    tracker = CallTracker()
    recorder = CallRecorder(tracker, EventLogWriter(pool), CallStore(pool))
    dispatcher = CallDispatcher(tracker, recorder)
    for event, action, action_id, at in events_and_actions(capture(name)):
        if event is not None:
            dispatcher.on_ami_event(event)
        elif action is not None:
            dispatcher.on_action(action, action_id, at)
    await recorder.flush()
    return recorder


@pytest.mark.parametrize("name", CAPTURES)
async def test_given_capture_when_recorded_then_calls_match_tracker_and_events_are_complete(
        pool: asyncpg.Pool, name: str) -> None:
    recorder = await record(pool, name)
    assert recorder.tracker.calls == {}  # ended calls are written, then forgotten: no leak
    expected = [c.to_record() for c in replay(capture(name)).calls.values() if c.caller_uniqueid]
    rows = await pool.fetch("SELECT * FROM calls ORDER BY arrived_at")
    assert [(r["linkedid"], r["state"], r["outcome"], r["agent_channel"] or "", r["digits"],
             r["hangup_by"]) for r in rows] == [
        (e["linkedid"], e["state"], e["outcome"], e["agent_channel"], e["digits"], e["hangup_by"])
        for e in expected]
    scoped = sum(1 for ev, _, _, _ in events_and_actions(capture(name))
                 if ev is not None and (ev.uniqueid or ev.get("DestUniqueid") or ev.get("BridgeUniqueid")))
    assert await pool.fetchval("SELECT count(*) FROM call_events") == scoped


async def test_replaying_the_same_events_twice_changes_nothing(pool: asyncpg.Pool) -> None:
    await record(pool, "ivr_route_record")
    first = await pool.fetch("SELECT linkedid, state, outcome, digits FROM calls ORDER BY linkedid")
    events = await pool.fetchval("SELECT count(*) FROM call_events")
    legs = await pool.fetchval("SELECT count(*) FROM call_legs")
    await record(pool, "ivr_route_record")
    assert await pool.fetch("SELECT linkedid, state, outcome, digits FROM calls ORDER BY linkedid") == first
    assert await pool.fetchval("SELECT count(*) FROM call_events") == events
    assert await pool.fetchval("SELECT count(*) FROM call_legs") == legs


async def test_answered_call_rows_carry_legs_recordings_and_offers(pool: asyncpg.Pool) -> None:
    await record(pool, "ivr_route_record")
    call = await pool.fetchrow("SELECT * FROM calls")
    assert call["outcome"] == "answered" and call["hangup_by"] == "agent"
    legs = await pool.fetch("SELECT channel, role FROM call_legs WHERE call_id = $1 ORDER BY uniqueid",
                            call["id"])
    assert len(legs) == 4
    assert {r["role"] for r in legs} == {"caller", "agent", "local"}
    kinds = await pool.fetch("SELECT kind FROM recordings WHERE call_id = $1 ORDER BY kind", call["id"])
    assert [r["kind"] for r in kinds] == ["agent", "customer", "mixed"]
    import json

    offers = json.loads(call["offers"]) if isinstance(call["offers"], str) else call["offers"]
    assert offers[0]["result"] == "answered"
    linked = await pool.fetchval("SELECT count(DISTINCT linkedid) FROM call_events WHERE linkedid <> ''")
    assert linked == 1  # the agent legs' events are filed under the caller's call (bridge lifecycle events have none)


async def test_failed_offer_leaves_no_separate_call_row(pool: asyncpg.Pool) -> None:
    await record(pool, "agent_noanswer")
    rows = await pool.fetch("SELECT linkedid, outcome, hangup_by FROM calls")
    assert [(r["outcome"], r["hangup_by"]) for r in rows] == [("failed", "server")]


async def test_recording_pause_is_stored_with_the_call(pool: asyncpg.Pool) -> None:
    await record(pool, "recording_pause")
    pauses = await pool.fetchval("SELECT recording_pauses FROM calls")
    import json

    pauses = json.loads(pauses) if isinstance(pauses, str) else pauses
    assert len(pauses) == 1 and all(pauses[0])


def test_captures_exist() -> None:
    assert CAPTURES
