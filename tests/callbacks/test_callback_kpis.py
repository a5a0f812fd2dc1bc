"""Callback KPIs (/api/kpis ``callbacks``) and the wallboard's callbacks tile, from the rows
and the router the callback edge really writes and keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from callcenter.kpi.callbacks import callback_kpis
from callcenter.routing import events as ev
from callcenter.web.wallboard import build_snapshot
from tests.callbacks.rig import Rig
from tests.routing.helpers import call


async def test_given_offers_taken_declined_completed_failed_then_kpis_count_each(
        pool: asyncpg.Pool) -> None:
    rig = Rig(pool, now=3_000_000.0)
    for i in range(4):
        rig.engine.submit(ev.CallEnqueued(call(f"k-{i}", "general"), rig.now + i))
    rig.at(rig.now + 70)  # all four offered
    rig.adapter.declined("k-0")
    rig.adapter.take("k-1", "5550001")
    rig.adapter.take("k-2", "5550002")
    await rig.adapter.wait_idle()  # the rows are stamped with the clock when written
    for gone in ("k-0", "k-3"):  # the callers who kept waiting give up
        rig.engine.submit(ev.CallHungUp(gone, rig.now))
    rig.engine.submit(ev.AgentLoggedIn("ann", rig.now, ready=True))  # k-1 comes up first
    await rig.agent_answers()
    rig.now += 30
    rig.event("DialEnd", Channel="PJSIP/ann-00000001", DialStatus="ANSWER")
    await rig.adapter.wait_idle()
    rig.event("Hangup", Channel="PJSIP/ann-00000001", Cause="16")  # k-1 completed, 30 s after
    rig.at(rig.now + 10)  # wrap-up over: k-2 comes up
    for attempt in range(2):
        await rig.agent_answers(f"PJSIP/ann-0000000{attempt + 2}")
        rig.event("DialEnd", Channel=f"PJSIP/ann-0000000{attempt + 2}", DialStatus="CHANUNAVAIL")
        await rig.adapter.wait_idle()
        rig.at(rig.now + 60)
    await rig.adapter.wait_idle()
    day = datetime.fromtimestamp(3_000_000.0, UTC)
    kpis = await callback_kpis(pool, day - timedelta(minutes=1), day + timedelta(hours=1))
    assert kpis.to_json() == {
        "offered": 4, "accepted": 2, "declined": 1, "completed": 1, "failed": 1, "open": 0,
        "time_to_callback_s": 30.0, "longest_time_to_callback_s": 30.0, "acceptance_rate": 0.5,
        # the rig stores no calls rows: no callback calls
        "attempts": 0, "reached": 0, "unreached": 0, "talk_s": None}
    before = await callback_kpis(pool, day - timedelta(hours=2), day - timedelta(hours=1))
    assert before.offered == 0 and before.time_to_callback_s is None


async def test_given_callbacks_waiting_then_wallboard_tile_counts_them_and_oldest_wait(
        pool: asyncpg.Pool) -> None:
    rig = Rig(pool, now=4_000_000.0)
    for i in range(3):
        rig.engine.submit(ev.CallEnqueued(call(f"w-{i}", "general"), rig.now + 10 * i))
    rig.at(rig.now + 90)
    rig.adapter.take("w-1", "5550011")
    rig.adapter.take("w-2", "5550012")
    snap = build_snapshot(rig.engine.statistics().to_json(), {}, {}, {}, rig.now,
                          callbacks=rig.engine.callbacks_waiting())
    tiles = snap["tiles"]
    assert (tiles["callbacks_waiting"], tiles["callbacks_oldest_wait_s"], tiles["waiting"]) == (
        2, 80.0, 1)
    assert build_snapshot(None, {}, {}, {}, rig.now)["tiles"]["callbacks_waiting"] == 0
