"""PostgreSQL goes away while calls flow: routing carries on, /healthz says so, the events
wait in memory (bounded) and are all written once the database is back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import asyncpg

from callcenter.agents.model import AgentState
from callcenter.simulator import Scenario
from tests.integration.conftest import PgProxy
from tests.reliability.harness import agent_phones, refund_callers, rig, wait_for

CALLS = 20


async def health(port: int) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as resp:
        return resp.status, await resp.json()


async def test_database_outage_under_load_routing_continues_and_nothing_is_lost(
        db_proxy: PgProxy, db_url: str, tmp_path: Path) -> None:
    async with rig(db_proxy.url, tmp_path, agents=CALLS, speed=10.0) as r, r.server() as server:
        for agent in server.agents.statuses():
            server.agents.login(agent.agent_id, ready=True)
        scenario = Scenario(refund_callers(CALLS, spread_s=60.0), agent_phones(CALLS, talk_s=20.0),
                            "db-outage")
        traffic = asyncio.create_task(r.simulator.run_scenario(scenario))
        await wait_for(lambda: server.offers.originates_sent >= 3, 60, "the first offers")

        db_proxy.cut()
        status, body = await health(server.http_port)
        assert status == 503 and body["database"] == {"ok": False, "state": "unreachable"}
        offered_at_cut = server.offers.originates_sent
        events_at_cut = server.ami.events_received
        # routing goes on without the database: more calls are offered and answered
        await wait_for(lambda: server.offers.originates_sent >= offered_at_cut + 4, 60,
                       "offers during the outage")
        assert server.ami.events_received > events_at_cut
        pending = server.recorder.statistics()["pending"]
        assert pending > 0, "events should be waiting for the database"

        db_proxy.restore()
        await asyncio.wait_for(traffic, 120)
        await wait_for(lambda: not server.tracker.live_calls(), 30, "every call to end")
        await server.clock.sleep(3.0)
        await server.recorder.flush()
        await wait_for(lambda: server.recorder.statistics()["pending"] == 0, 30, "the backlog")
        status, _ = await health(server.http_port)
        assert status == 200
        assert not [s for s in server.agents.statuses()
                    if s.state in (AgentState.OFFERED, AgentState.TALKING)]
        stats = server.recorder.statistics()
        assert stats["failures"] > 0, "the outage should have failed some flushes"
        assert stats["rejected"] == 0

    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch("SELECT state, outcome FROM calls WHERE caller_channel LIKE 'PJSIP/pstn-%'")
        stored_events = await conn.fetchval("SELECT count(*) FROM call_events")
    finally:
        await conn.close()
    assert len(rows) == CALLS
    assert {(row["state"], row["outcome"]) for row in rows} == {("ended", "answered")}
    # every event buffered during the outage reached the log, once
    assert stored_events == stats["written"] + stats["duplicates"] > 0
