"""The demo scenario end to end: simulator → IVR → routing → agents → recording → database."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import aiohttp
import asyncpg

from callcenter.agents.model import AgentState
from callcenter.demo.run import running_demo
from callcenter.settings import DatabaseSettings, HttpSettings, Secret, Settings
from tests.helpers.polling import wait_until

REPO = Path(__file__).resolve().parents[2]


SPEED = 25.0


async def test_demo_runs_calls_to_an_outcome_records_answered_calls_and_leaves_no_agent_stuck(
        db_url: str, tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state", config_dir=REPO / "config",
                        database=DatabaseSettings(url=Secret(db_url)), http=HttpSettings(port=0))
    async with running_demo(settings, speed=SPEED, rate_scale=3.0) as demo:
        server = demo.server
        await server.clock.sleep(240.0)  # four simulated minutes of traffic
        demo.traffic.cancel()  # no new calls; the ones in progress play out
        await wait_until(lambda: not server.tracker.live_calls(), timeout_s=60, every_s=0.2)
        await server.clock.sleep(30.0)  # wrap-up, recordings' grace period, the last flushes
        await server.recorder.flush()
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            base = f"http://127.0.0.1:{server.http_port}"
            login = await http.post(f"{base}/login", json={"login": "supervisor", "password": "demo"})
            assert login.status == 200
            listed = await (await http.get(f"{base}/api/calls?limit=500")).json()
        stuck = [s for s in server.agents.statuses()
                 if s.state in (AgentState.OFFERED, AgentState.TALKING)]
        assert stuck == []
        statuses = {s.agent_id: s.state for s in server.agents.statuses()}
        assert all(state is not AgentState.OFFLINE for state in statuses.values())

    conn = await asyncpg.connect(db_url)
    try:
        calls = await conn.fetch("SELECT id, state, outcome, ivr_path FROM calls")
        assert len(calls) >= 10, "the demo should have placed a good number of calls"
        unfinished = [dict(c) for c in await conn.fetch(
            "SELECT linkedid, state, outcome, caller_channel, agent_channel, offers FROM calls"
            " WHERE state <> 'ended' OR outcome IS NULL")]
        assert unfinished == []
        outcomes = {c["outcome"] for c in calls}
        assert "answered" in outcomes
        answered = [c["id"] for c in calls if c["outcome"] == "answered"]
        rows = await conn.fetch(
            "SELECT call_id, kind, status, duration_s FROM recordings WHERE call_id = ANY($1)", answered)
        by_call: dict[int, set[str]] = {}
        for row in rows:
            assert row["status"] == "final", dict(row)
            assert row["duration_s"] > 1.0
            by_call.setdefault(row["call_id"], set()).add(row["kind"])
        assert by_call.keys() == set(answered)
        assert all(kinds == {"mixed", "customer", "agent"} for kinds in by_call.values())
        assert any(c["ivr_path"] not in ("[]", None) for c in calls)
        assert await conn.fetchval("SELECT count(*) FROM calls WHERE csat BETWEEN 1 AND 5") > 0
        assert len(listed["calls"]) == len(calls)
        states = await conn.fetchval("SELECT count(*) FROM agent_state_changes")
        assert states > 0
    finally:
        await conn.close()


def test_demo_settings_are_isolated(tmp_path: Path) -> None:
    base = Settings()
    copy = dataclasses.replace(base, state_dir=tmp_path)
    assert copy.state_dir == tmp_path and base.state_dir != tmp_path
