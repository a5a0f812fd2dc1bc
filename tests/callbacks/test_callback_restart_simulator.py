"""A server restart while a callback talks, through the PBX simulator: real AMI over TCP, the
real IVR flow, router and PostgreSQL. The restarted server finds the callback's own call in
the channel list and has the agent talking on it; when it ends, the agent wraps up for the
callback's skill (the ``callbacks`` row), not for their best skill, and the KPIs count the
callback's call under that skill."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from callcenter.agents.model import AgentState
from callcenter.clock import ScaledClock
from callcenter.kpi.report import call_kpis
from callcenter.routing.decisions import CallbackConnected, CallbackKept
from callcenter.server.build import build_server
from callcenter.server.resync import Server
from callcenter.simulator import Behaviour
from tests.callbacks.test_callback_simulator import press_when
from tests.routing.sim_harness import EN_CUSTOMERS, SPEED, Harness, agent_entry, caller, fetch, phone, running

pytestmark = pytest.mark.integration

GENERAL = {"steps": [{"after_s": 0}, {"after_s": 20, "offer_callback": True}],
           "callback_attempts": 1, "callback_ring_s": 15, "wrap_up_s": 30}
# ann's best skill is orders, whose wrap-up is none: a talk taken for orders frees her at once
POLICY = {"defaults": {"ring_timeout_s": 15, "wrap_up_s": 0},
          "skills": {"general": GENERAL, "orders": {"steps": [{"after_s": 0}], "wrap_up_s": 0}}}


@pytest.fixture
def fresh_db(new_database: Callable[[], str]) -> str:
    return new_database()


async def callback_talking(h: Harness) -> str:
    """One caller for general takes the callback; ann answers it and so does the customer (who
    talks for a minute). Returns the original call's id."""
    channel = h.call(caller(EN_CUSTOMERS[0], "general", patience_s=None, survey=None))
    press_when(h, channel, "callback-offer", "1")
    press_when(h, channel, "callback-enter-number", "#")
    await h.wait_for(lambda: any(isinstance(d, CallbackKept) for d in h.probe.decisions), 200,
                     "the caller took the callback")
    kept = next(d for d in h.probe.decisions if isinstance(d, CallbackKept))
    h.simulator.add_callback_customer(kept.number, Behaviour(answer_after_s=1.0, hangup_after_s=60.0))
    h.server.agents.login("ann", ready=True)
    await h.wait_for(lambda: any(isinstance(d, CallbackConnected) for d in h.probe.decisions), 120,
                     "the customer answered")
    return kept.request.call_id


async def wait_state(server: Server, state: AgentState, sim_s: float) -> float:
    """Until ann is in ``state``; returns the server's time then."""
    deadline = server.clock.now() + sim_s
    while server.engine.agent_status("ann").state is not state:
        assert server.clock.now() < deadline, f"ann not {state.value}: {server.engine.agent_status('ann')}"
        await server.clock.sleep(0.2)
    return server.clock.now()


async def test_given_a_restart_while_a_callback_talks_then_the_agent_wraps_up_for_the_callback_s_skill(
        fresh_db: str, tmp_path: Path) -> None:
    async with running(tmp_path, fresh_db, policy=POLICY, ready=[],
                       agents=[agent_entry("ann", "1001", {"general": 1, "orders": 5})],
                       phones=[phone("1001", answer_after_s=1.0, hangup_after_s=None)]) as h:
        original = await callback_talking(h)
        await h.sleep(3.0)  # the agent's talking state and the calls are stored
        await h.server.recorder.flush()
        # the server restarted: a new process rebuilds from the channel list and the database
        async with build_server(h.server.settings, clock=ScaledClock(SPEED)) as second:
            await wait_state(second, AgentState.TALKING, 30)
            [row] = await fetch(fresh_db, "SELECT * FROM callbacks WHERE call_linkedid = $1", original)
            assert second.engine.agent_status("ann").call_id == row["callback_linkedid"]
            ended = await wait_state(second, AgentState.WRAP_UP, 90)  # the customer hung up
            ready = await wait_state(second, AgentState.READY, 60)
            assert ready - ended == pytest.approx(30.0, abs=3.0)  # general's wrap-up, not orders' none
            await second.recorder.flush()
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    pool = await asyncpg.create_pool(fresh_db, min_size=1, max_size=1)
    try:
        kpis = {k.group: k for k in await call_kpis(pool, today - timedelta(days=1),
                                                   today + timedelta(days=2), "skill")}
    finally:
        await pool.close()
    assert kpis["general"].talk_s is not None and kpis["general"].talk_s > 30.0
