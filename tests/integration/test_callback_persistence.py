"""Callback calls stored from the real-PBX captures: a row of their own, ``direction`` callback,
``callback_of`` the original call, the customer's carrier leg as the caller, the agent's phone as
the agent; and a restarted server keeps knowing them for callbacks."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from callcenter.calls.dispatch import CallDispatcher
from callcenter.calls.model import Call, Direction
from callcenter.calls.recorder import CallRecorder
from callcenter.calls.store import CallStore
from callcenter.calls.tracker import CallTracker
from callcenter.server.replay import events_and_actions, read_transcript
from callcenter.store.events import EventLogWriter

PBX_CAPTURES = Path(__file__).resolve().parents[1] / "data" / "pbx-captures"


@pytest.fixture
def pool(fresh_pool: asyncpg.Pool) -> asyncpg.Pool:
    """A database of this test's own (rows counted from zero)."""
    return fresh_pool


async def record(pool: asyncpg.Pool, name: str) -> None:
    tracker = CallTracker()
    recorder = CallRecorder(tracker, EventLogWriter(pool), CallStore(pool))
    dispatcher = CallDispatcher(tracker, recorder)
    for event, action, action_id, at in events_and_actions(read_transcript(PBX_CAPTURES / f"{name}.jsonl")):
        if event is not None:
            dispatcher.on_ami_event(event)
        elif action is not None:
            dispatcher.on_action(action, action_id, at)
    await recorder.flush()


async def test_an_answered_callback_is_stored_as_the_callback_of_its_call(pool: asyncpg.Pool) -> None:
    await record(pool, "callback_kept_place")
    rows = await pool.fetch("SELECT * FROM calls")
    assert [(r["linkedid"], r["direction"], r["callback_of"], r["outcome"], r["caller_channel"],
             r["agent_channel"], r["hangup_by"]) for r in rows] == [
        ("1796476588.9", "callback", "1796476549.2", "answered", "PJSIP/carrier-00000008",
         "PJSIP/1031-00000007", "agent")]
    # the customer is the number dialled, not the carrier leg's caller id (the extension "s")
    assert [r["caller_number"] for r in rows] == ["8613911160003"]
    legs = await pool.fetch("SELECT channel, role FROM call_legs ORDER BY channel")
    assert [(r["channel"], r["role"]) for r in legs] == [
        ("PJSIP/1031-00000007", "agent"), ("PJSIP/carrier-00000008", "caller")]
    kinds = await pool.fetch("SELECT kind FROM recordings ORDER BY kind")
    assert [r["kind"] for r in kinds] == ["agent", "customer", "mixed"]


async def test_busy_attempts_are_failed_callbacks(pool: asyncpg.Pool) -> None:
    await record(pool, "callback_busy_ticket")
    rows = await pool.fetch("SELECT * FROM calls ORDER BY arrived_at")
    assert [(r["direction"], r["callback_of"], r["outcome"], r["hangup_cause"], r["answered_at"])
            for r in rows] == [("callback", "1796476608.15", "failed", 17, None)] * 2
    statuses = await pool.fetch("SELECT dial_status FROM call_legs WHERE role = 'caller'")
    assert [r["dial_status"] for r in statuses] == ["BUSY", "BUSY"]


async def test_a_restarted_server_keeps_a_live_callback_a_callback(pool: asyncpg.Pool) -> None:
    await record(pool, "callback_kept_place")
    store = CallStore(pool)
    rows = await store.load_live(["1796476588.9"])
    rebuilt = Call(linkedid="1796476588.9", arrived_at=rows["1796476588.9"]["arrived_at"].timestamp())
    store.restore(rebuilt, rows["1796476588.9"])
    assert (rebuilt.direction, rebuilt.callback_of) == (Direction.CALLBACK, "1796476549.2")
