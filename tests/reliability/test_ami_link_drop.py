"""The AMI link dropped while 50 calls are up: the server reconnects, rebuilds its calls from
CoreShowChannels/BridgeList, and nothing is lost, offered twice or left stuck."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import asyncpg

from callcenter.agents.model import AgentState
from callcenter.calls.model import CallState
from callcenter.simulator import Scenario
from tests.reliability.harness import agent_phones, refund_callers, rig, wait_for

CALLS = 50
# 60 s real at speed 10: longer than every wait the test makes while the 50 calls must be up
# (the callers hang up once the test has checked them)
TALK_S = 600.0


async def test_link_dropped_during_50_live_calls_loses_nothing_and_offers_nothing_twice(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    db_url = new_database()  # each test its own: agents' states and callers' history persist
    async with rig(db_url, tmp_path, agents=CALLS + 4, speed=10.0) as r, r.server() as server:
        for agent in server.agents.statuses():
            server.agents.login(agent.agent_id, ready=True)
        scenario = Scenario(refund_callers(CALLS, spread_s=20.0), agent_phones(CALLS + 4, talk_s=TALK_S),
                            "link-drop")
        traffic = asyncio.create_task(r.simulator.run_scenario(scenario))

        def talking() -> int:
            return sum(1 for c in server.tracker.live_calls() if c.state is CallState.TALKING)

        await wait_for(lambda: talking() == CALLS, 60, "50 calls talking")
        offers_before = server.offers.originates_sent
        assert r.simulator.drop_clients() == 1
        await wait_for(lambda: not server.ami.connected, 10, "the server to see the drop")
        await wait_for(lambda: server.ami.connected, 20, "the link to come back")
        await wait_for(lambda: server.reconciled, 20, "reconciled with the PBX")
        # rebuilt from the lists: the same 50 calls, each with its agent leg
        await wait_for(lambda: talking() == CALLS, 20, "50 calls rebuilt")
        agents_talking = [s for s in server.agents.statuses() if s.state is AgentState.TALKING]
        assert len(agents_talking) == CALLS
        assert server.offers.originates_sent == offers_before == CALLS

        assert r.callers_hang_up() == CALLS  # rebuilt; their talk need not run out
        await asyncio.wait_for(traffic, 60)
        await wait_for(lambda: not server.tracker.live_calls(), 30, "every call to end")
        await server.clock.sleep(3.0)
        await server.recorder.flush()
        assert server.offers.originates_sent == CALLS, "a call was offered twice"
        stuck = [s for s in server.agents.statuses()
                 if s.state in (AgentState.OFFERED, AgentState.TALKING)]
        assert not stuck

    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch("SELECT linkedid, state, outcome, offers FROM calls"
                                " WHERE caller_channel LIKE 'PJSIP/pstn-%'")
    finally:
        await conn.close()
    assert len(rows) == CALLS
    assert {(r["state"], r["outcome"]) for r in rows} == {("ended", "answered")}
    for row in rows:
        answered = [o for o in json.loads(row["offers"]) if o.get("result") == "answered"]
        assert len(answered) == 1, (row["linkedid"], row["offers"])


async def test_link_dropped_while_callers_are_in_the_ivr_they_still_reach_an_agent(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    db_url = new_database()  # each test its own: agents' states and callers' history persist
    async with rig(db_url, tmp_path, agents=10, speed=10.0) as r, r.server() as server:
        for agent in server.agents.statuses():
            server.agents.login(agent.agent_id, ready=True)
        scenario = Scenario(refund_callers(8, spread_s=2.0, first=61), agent_phones(10, talk_s=20.0), "ivr-drop")
        traffic = asyncio.create_task(r.simulator.run_scenario(scenario))

        def in_ivr() -> int:
            return sum(1 for c in server.tracker.live_calls() if c.state is CallState.IVR)

        await wait_for(lambda: in_ivr() == 8, 60, "8 callers in the IVR")
        r.simulator.drop_clients()
        await wait_for(lambda: not server.ami.connected, 10, "the server to see the drop")
        await wait_for(lambda: server.ami.connected, 20, "the link to come back")
        await asyncio.wait_for(traffic, 120)
        await wait_for(lambda: not server.tracker.live_calls(), 30, "every call to end")
        await server.clock.sleep(3.0)
        await server.recorder.flush()

    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch("SELECT linkedid, outcome FROM calls WHERE caller_channel LIKE 'PJSIP/pstn-%'"
                                " AND arrived_at > now() - interval '1 hour' ORDER BY id DESC LIMIT 8")
    finally:
        await conn.close()
    assert [row["outcome"] for row in rows] == ["answered"] * 8


async def test_link_dropped_while_callers_wait_on_hold_they_are_offered_once_after(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    db_url = new_database()  # each test its own: agents' states and callers' history persist
    async with rig(db_url, tmp_path, agents=6, speed=10.0) as r, r.server() as server:
        scenario = Scenario(refund_callers(6, spread_s=2.0, first=71), agent_phones(6, talk_s=20.0), "hold-drop")
        traffic = asyncio.create_task(r.simulator.run_scenario(scenario))

        def queued() -> int:
            return sum(1 for c in server.tracker.live_calls() if c.state is CallState.QUEUED)

        await wait_for(lambda: queued() == 6, 60, "6 callers on hold",
                       lambda: ([c.state for c in server.tracker.live_calls()], server.ami.state,
                                r.simulator.statistics(), traffic.done() and traffic.exception()))
        r.simulator.drop_clients()
        await wait_for(lambda: not server.ami.connected, 10, "the server to see the drop")
        await wait_for(lambda: server.ami.connected, 20, "the link to come back")
        await wait_for(lambda: server.reconciled, 20, "reconciled with the PBX")
        await server.clock.sleep(5.0)
        assert queued() == 6, [c.state for c in server.tracker.live_calls()]
        for agent in server.agents.statuses():
            server.agents.login(agent.agent_id, ready=True)
        await asyncio.wait_for(traffic, 120)
        await wait_for(lambda: not server.tracker.live_calls(), 30, "every call to end")
        await server.clock.sleep(3.0)
        await server.recorder.flush()
        offers_sent = server.offers.originates_sent

    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch("SELECT outcome, offers FROM calls WHERE caller_channel LIKE 'PJSIP/pstn-%'"
                                " ORDER BY id DESC LIMIT 6")
    finally:
        await conn.close()
    assert [row["outcome"] for row in rows] == ["answered"] * 6, [dict(r) for r in rows]
    assert offers_sent == 6, (offers_sent, [o for r in rows for o in json.loads(r["offers"])])
