"""The PBX frozen for 20 s (as ``kill -STOP`` looks over AMI) under 40 calls and 8 agents, then
resumed: the server reconciles with what Asterisk reports, and nothing is left stuck."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import asyncpg

from callcenter.agents.model import AgentState
from callcenter.calls.model import CallState
from callcenter.server.resync import Server
from callcenter.simulator import Scenario
from tests.reliability.harness import Rig, agent_phones, refund_callers, rig, wait_for
from tests.reliability.test_readiness import health

CALLS = 40
AGENTS = 8
SPEED = 4.0
FREEZE_SIM_S = 20.0
NOTICED_S = 20.0  # real seconds for the server to see the frozen link (a 2 s ping, 5 s timeout)


async def freeze_until_noticed(r: Rig, server: Server) -> None:
    """Freeze the PBX's AMI side for FREEZE_SIM_S, and longer if the server has not yet seen
    its link go down (the simulator, the server and the test share one loop; under load the
    ping's timeout fires late)."""
    loop = asyncio.get_running_loop()
    thaw_at = loop.time() + FREEZE_SIM_S / SPEED
    r.simulator.freeze_ami()
    await wait_for(lambda: not server.ami.connected, NOTICED_S, "the server to see the frozen link")
    await asyncio.sleep(max(0.0, thaw_at - loop.time()))


async def test_pbx_frozen_20_s_under_40_calls_leaves_nothing_stuck(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    db_url = new_database()
    async with rig(db_url, tmp_path, agents=AGENTS, speed=SPEED) as r, r.server() as server:
        for agent in server.agents.statuses():
            server.agents.login(agent.agent_id, ready=True)
        # callers give up after a while on hold; agents talk 12 s
        scenario = Scenario(refund_callers(CALLS, spread_s=80.0, patience_s=60.0, first=101),
                            agent_phones(AGENTS, talk_s=12.0), "freeze")
        traffic = asyncio.create_task(r.simulator.run_scenario(scenario))

        def states() -> dict[str, int]:
            out: dict[str, int] = {}
            for c in server.tracker.live_calls():
                out[c.state.value] = out.get(c.state.value, 0) + 1
            return out

        await wait_for(lambda: states().get("talking", 0) >= 4 and states().get("ivr", 0) >= 2, 90,
                       "calls talking and in the IVR",
                       lambda: (states(), traffic.done() and traffic.exception(), r.simulator.statistics()))
        await freeze_until_noticed(r, server)
        assert not server.ami.connected
        status, body = await health(server)
        assert status == 503, body
        r.simulator.thaw_ami()
        await wait_for(lambda: server.ami.connected, 20, "the link to come back")
        await wait_for(lambda: server.reconciled, 20, "reconciled")

        # right after the reconcile: every agent the server thinks is talking has a live leg
        live_agent_channels = {c.name for c in r.simulator.channels() if c.name.startswith("PJSIP/5")}
        for status_ in server.agents.statuses():
            if status_.state is AgentState.TALKING:
                call = server.tracker.calls.get(status_.call_id or "")
                assert call is not None and call.live and call.agent is not None, status_
                assert call.agent.channel in live_agent_channels, (status_, call.agent.channel)
        await asyncio.wait_for(traffic, 240)
        await wait_for(lambda: not server.tracker.live_calls(), 60, "every call to end", states)
        await server.clock.sleep(3.0)
        await server.recorder.flush()
        statuses = server.agents.statuses()
        stuck = [(s.agent_id, s.state.value, s.reason) for s in statuses
                 if s.state in (AgentState.OFFERED, AgentState.TALKING)
                 or (s.state is AgentState.PAUSED and s.reason == "missed")]
        assert not stuck, stuck
        status, body = await health(server)
        assert status == 200, body

    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch("SELECT linkedid, state, outcome, end_reason, agent_channel, answered_at"
                                " FROM calls WHERE caller_channel LIKE 'PJSIP/pstn-%'")
    finally:
        await conn.close()
    assert len(rows) == CALLS
    unfinished = [dict(row) for row in rows if row["state"] != "ended" or row["outcome"] is None]
    assert not unfinished, unfinished
    # every caller the simulator saw hang up on their own is accounted for with a real outcome
    assert {row["outcome"] for row in rows} <= {"answered", "abandoned", "failed", "ivr_hangup"}


async def test_a_caller_who_hangs_up_while_the_pbx_is_frozen_is_ended_as_link_down(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    db_url = new_database()
    async with rig(db_url, tmp_path, agents=1, speed=SPEED) as r, r.server() as server:
        # no agent ready: the caller waits on hold, and gives up during the freeze
        scenario = Scenario(refund_callers(1, spread_s=0.0, patience_s=10.0, first=151),
                            agent_phones(1, talk_s=5.0), "freeze-abandon")
        traffic = asyncio.create_task(r.simulator.run_scenario(scenario))
        await wait_for(lambda: any(c.state is CallState.QUEUED for c in server.tracker.live_calls()),
                       60, "the caller on hold")
        [call] = server.tracker.live_calls()
        # thawed only once the link was seen down: the caller's Hangup, lost in the freeze, is
        # then found missing by the reconcile after the reconnect
        await freeze_until_noticed(r, server)
        await asyncio.wait_for(traffic, 60)  # the caller hung up meanwhile: Asterisk has no call
        r.simulator.thaw_ami()
        await wait_for(lambda: server.ami.connected and server.reconciled, 30, "reconciled")
        await wait_for(lambda: server.engine.router.call_status(call.linkedid) is None, 10,
                       "routing forgot the call")
        await server.recorder.flush()
    conn = await asyncpg.connect(db_url)
    try:
        row = await conn.fetchrow("SELECT state, outcome, end_reason, hangup_by FROM calls"
                                  " WHERE linkedid = $1", call.linkedid)
    finally:
        await conn.close()
    assert row is not None
    assert dict(row) == {"state": "ended", "outcome": "failed", "end_reason": "link_down",
                         "hangup_by": "unknown"}


async def test_calls_left_live_by_a_previous_run_are_closed_at_start(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    db_url = new_database()
    async with rig(db_url, tmp_path, agents=1, speed=SPEED) as r:
        pool = r.database.pool
        await pool.execute(
            """INSERT INTO calls (linkedid, caller_channel, caller_number, state, arrived_at,
                                  queued_at, answered_at, updated_at)
               VALUES ('1700000000.1', 'PJSIP/pstn-1', '1380', 'ivr', now() - interval '5 min',
                       NULL, NULL, now() - interval '4 min'),
                      ('1700000000.2', 'PJSIP/pstn-2', '1381', 'queued', now() - interval '5 min',
                       now() - interval '5 min', NULL, now() - interval '4 min'),
                      ('1700000000.3', 'PJSIP/pstn-3', '1382', 'talking', now() - interval '5 min',
                       now() - interval '5 min', now() - interval '4 min', now() - interval '3 min')""")
        async with r.server() as server:
            await wait_for(lambda: server.reconciled, 30, "reconciled")
            status, body = await health(server)
            assert status == 200, body
        rows = await pool.fetch("SELECT linkedid, state, outcome, end_reason, hangup_by"
                                " FROM calls ORDER BY linkedid")
    assert [(r_["state"], r_["outcome"], r_["end_reason"], r_["hangup_by"]) for r_ in rows] == [
        ("ended", "ivr_hangup", "server_down", "unknown"), ("ended", "failed", "server_down", "unknown"),
        ("ended", "answered", "server_down", "unknown")]
