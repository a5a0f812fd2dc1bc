"""Call control through the PBX simulator (real AMI over TCP, the real IVR, router, tracker and
PostgreSQL): the agent holds, resumes, mutes and hangs up; the simulator answers the actions
the real PBX answers and reports the hold music's ChanSpy as Asterisk does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from callcenter.agents.model import AgentState
from callcenter.control.plan import Refused, Verb
from callcenter.web.api_control import CONTROL
from tests.routing.sim_harness import EN_CUSTOMERS, agent_entry, caller, phone, running

pytestmark = pytest.mark.integration

POLICY = {"defaults": {"ring_timeout_s": 15, "wrap_up_s": 3},
          "skills": {"refunds": {"steps": [{"after_s": 0, "min_level": 1}]}}}


@pytest.fixture
def fresh_db(new_database: Callable[[], str]) -> str:
    return new_database()


async def test_agent_holds_resumes_mutes_and_hangs_up_through_the_simulator(
        fresh_db: str, tmp_path: Path) -> None:
    agents = [agent_entry("rex", "1003", {"refunds": 4})]
    async with running(tmp_path, fresh_db, policy=POLICY, agents=agents,
                       phones=[phone("1003", hangup_after_s=600.0)]) as h:
        h.call(caller(EN_CUSTOMERS[0], survey=None))
        await h.wait_for(lambda: h.state("rex") is AgentState.TALKING, 120, "rex talking")
        [enqueued] = h.probe.enqueued()
        call_id = enqueued.call.call_id
        control = h.server.http.app[CONTROL]
        await h.wait_for(lambda: h.server.console.agent_talking(call_id) == "rex", 10, "answered")

        held = await control.act("rex", call_id, Verb.HOLD)
        assert held["held"] is True
        assert h.server.tracker.calls[call_id].held_since is not None
        with pytest.raises(Refused) as again:
            await control.act("rex", call_id, Verb.HOLD)
        assert again.value.error_id == "already_held"
        await h.sleep(20.0)
        resumed = await control.act("rex", call_id, Verb.RESUME)
        assert resumed["held"] is False and resumed["hold_s"] >= 19.0
        muted = await control.act("rex", call_id, Verb.MUTE)
        assert muted["muted"] is True
        agent_leg = h.server.tracker.calls[call_id].agent
        assert agent_leg is not None
        channel = h.simulator.pbx.find(agent_leg.channel)
        assert channel is not None and channel.muted == {"in"}
        await control.act("rex", call_id, Verb.HANGUP)
        rows = await h.finish()
        hold = await h.server.database.pool.fetchrow(
            "SELECT hold_s, hold_count FROM calls WHERE linkedid = $1", call_id)

    [row] = rows
    assert (row["linkedid"], row["outcome"], row["hangup_by"]) == (call_id, "answered", "agent")
    assert hold["hold_count"] == 1 and 19.0 <= hold["hold_s"] <= 25.0, dict(hold)


async def test_blind_transfer_to_another_skill_through_the_simulator(fresh_db: str,
                                                                     tmp_path: Path) -> None:
    policy = {"defaults": {"ring_timeout_s": 15, "wrap_up_s": 30},
              "skills": {"refunds": {"steps": [{"after_s": 0, "min_level": 1}]},
                         "returns": {"steps": [{"after_s": 0, "min_level": 1}]}}}
    agents = [agent_entry("rex", "1003", {"refunds": 4}), agent_entry("sue", "1004", {"returns": 4})]
    async with running(tmp_path, fresh_db, policy=policy, agents=agents,
                       phones=[phone("1003", hangup_after_s=600.0),
                               phone("1004", hangup_after_s=40.0)]) as h:
        h.call(caller(EN_CUSTOMERS[0], survey=None))
        await h.wait_for(lambda: h.state("rex") is AgentState.TALKING, 120, "rex talking")
        [enqueued] = h.probe.enqueued()
        call_id = enqueued.call.call_id
        control = h.server.http.app[CONTROL]
        await h.wait_for(lambda: h.server.console.agent_on_call(call_id) == "rex", 10, "answered")
        await h.sleep(10.0)
        done = await control.act("rex", call_id, Verb.TRANSFER, skill="returns", note="a return")
        assert done["ended"] is True
        await h.wait_for(lambda: h.state("sue") is AgentState.TALKING, 60, "sue talking")
        assert h.state("rex") is AgentState.WRAP_UP
        second = h.probe.enqueued()[-1]
        assert (second.call.call_id, second.call.skill) == (call_id, "returns")
        assert "transferred" in second.call.tags
        assert h.server.console.agent_on_call(call_id) == "sue"
        rows = await h.finish()
        legs = await h.server.database.pool.fetch(
            "SELECT a.login, l.ended_how, l.transferred_to, l.note FROM call_legs l"
            " JOIN calls c ON c.id = l.call_id LEFT JOIN agents a ON a.id = l.agent_id"
            " WHERE c.linkedid = $1 AND l.talk_started_at IS NOT NULL"
            " ORDER BY l.talk_started_at", call_id)

    [row] = rows
    assert (row["linkedid"], row["outcome"]) == (call_id, "answered")
    assert [tuple(leg) for leg in legs] == [("rex", "transfer", "returns", "a return"),
                                           ("sue", "hangup", None, None)]
