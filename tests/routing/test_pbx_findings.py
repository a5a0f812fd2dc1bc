"""What the product got wrong when it first met the real PBX, proven through the simulator.

Each test runs the whole server against the PBX simulator (``sim_harness.running``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.routing.sim_harness import EN_CUSTOMERS, agent_entry, caller, phone, running

pytestmark = pytest.mark.integration

REFUNDS = {"steps": [{"after_s": 0, "min_level": 1}]}
POLICY = {"defaults": {"ring_timeout_s": 15, "wrap_up_s": 3}, "skills": {"refunds": REFUNDS}}


@pytest.fixture
def fresh_db(new_database: Callable[[], str]) -> str:
    return new_database()


async def test_answered_call_with_the_survey_gives_asterisk_no_option_warning(
        fresh_db: str, tmp_path: Path) -> None:
    agents = [agent_entry("rita", "1002", {"refunds": 3})]
    async with running(tmp_path, fresh_db, policy=POLICY, agents=agents, speed=10.0,
                       phones=[phone("1002", hangup_after_s=5.0)]) as h:
        h.call(caller(EN_CUSTOMERS[0]))
        await h.wait_for(lambda: bool(h.probe.offers()), 60, "offer")
        rows = await h.finish()
        assert h.simulator.pbx.warnings == []
    [row] = rows
    assert row["outcome"] == "answered"


async def test_a_missed_offer_takes_the_pop_off_the_agents_screen_and_snapshot(
        fresh_db: str, tmp_path: Path) -> None:
    agents = [agent_entry("nora", "1001", {"refunds": 5}), agent_entry("rita", "1002", {"refunds": 2})]
    phones = [phone("1001", never_answers=True), phone("1002", hangup_after_s=5.0)]
    policy = {"defaults": {"ring_timeout_s": 6, "wrap_up_s": 3}, "skills": {"refunds": REFUNDS}}
    async with running(tmp_path, fresh_db, policy=policy, agents=agents, phones=phones,
                       speed=10.0) as h:
        console = h.server.console
        assert console is not None
        h.call(caller(EN_CUSTOMERS[0]))
        await h.wait_for(lambda: console.feed("nora").pop is not None, 60, "pop for nora")
        pop = console.feed("nora").pop
        assert pop is not None
        call_id = pop["call_id"]
        await h.wait_for(lambda: len(h.probe.offers()) == 2, 60, "re-offered to rita")
        await h.wait_for(lambda: console.snapshot("nora")["pop"] is None, 5, "nora's pop cancelled")
        kinds = [e["type"] for e in console.feed("nora").events if e.get("call_id") == call_id]
        assert kinds[-1] == "pop_cancelled" and "pop" in kinds
        await h.wait_for(lambda: console.snapshot("rita")["pop"] is not None, 30, "rita's pop")
        assert console.snapshot("rita")["pop"]["call_id"] == call_id
        await h.finish()
        assert console.snapshot("nora")["pop"] is None


async def test_queued_at_is_when_the_call_became_ready_to_route_even_if_offered_before_hold_music(
        fresh_db: str, tmp_path: Path) -> None:
    agents = [agent_entry("rita", "1002", {"refunds": 3})]
    async with running(tmp_path, fresh_db, policy=POLICY, agents=agents, speed=10.0,
                       phones=[phone("1002", answer_after_s=0.5, hangup_after_s=5.0)]) as h:
        h.call(caller(EN_CUSTOMERS[0]))
        await h.wait_for(lambda: bool(h.probe.offers()), 60, "offer")
        [row] = await h.finish()
        [enqueued] = h.probe.enqueued()
        [offer] = h.probe.offers()
    assert row["outcome"] == "answered"
    assert row["queued_at"] is not None
    assert abs(row["queued_at"].timestamp() - enqueued.at) <= 0.1
    # what the KPIs report as this call's answer time is what the router measured
    assert row["answered_at"].timestamp() - row["queued_at"].timestamp() == pytest.approx(
        row["answered_at"].timestamp() - enqueued.at, abs=0.1)
    assert offer.at - enqueued.at < 0.5


async def test_recordings_are_final_right_after_the_hang_up_not_after_the_grace_time(
        fresh_db: str, tmp_path: Path) -> None:
    talk_s = 30.0
    agents = [agent_entry("rita", "1002", {"refunds": 3})]
    async with running(tmp_path, fresh_db, policy=POLICY, agents=agents, speed=10.0, grace_s=30.0,
                       phones=[phone("1002", answer_after_s=1.0, hangup_after_s=talk_s)]) as h:
        h.call(caller(EN_CUSTOMERS[0], survey=None))
        pool = h.server.database.pool
        final_at: list[float] = []

        async def probe() -> None:
            while True:
                states = await pool.fetch("SELECT status FROM recordings")
                if states and all(r["status"] != "recording" for r in states):
                    final_at.append(h.now)
                    return
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(probe())
        await h.wait_for(lambda: bool(final_at), 300, "recordings final")
        await watcher
        [row] = await h.finish()
        recordings = await pool.fetch("SELECT status, duration_s FROM recordings")
    assert row["outcome"] == "answered"
    assert len(recordings) == 3 and {r["status"] for r in recordings} == {"final"}
    assert all(r["duration_s"] >= talk_s - 2 for r in recordings)
    ended = row["ended_at"].timestamp()
    # well inside the 30 s fallback: within a few percent of the call's length
    assert final_at[0] - ended <= 0.1 * talk_s, final_at[0] - ended
