"""The server process killed (SIGKILL) in the middle of calls and started again: the live calls
are recovered from Asterisk plus the database, end with their true outcome, and no agent is
left stuck."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import asyncpg

from callcenter.agents.model import AgentState
from callcenter.calls.model import CallState
from callcenter.simulator import Scenario
from tests.reliability.harness import agent_phones, refund_callers, rig, settings_toml, wait_for

REPO = Path(__file__).resolve().parents[2]
CALLS = 6


async def talking_rows(db_url: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM calls WHERE state = 'talking' AND answered_at IS NOT NULL"))
    finally:
        await conn.close()


async def test_server_killed_mid_call_and_restarted_recovers_the_live_calls(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    db_url = new_database()
    speed = 10.0
    async with rig(db_url, tmp_path, agents=CALLS, speed=speed) as r:
        (tmp_path / "child.toml").write_text(settings_toml(r.settings), encoding="utf-8")
        (tmp_path / "child.json").write_text(json.dumps(
            {"config": str(tmp_path / "child.toml"), "speed": speed}), encoding="utf-8")
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.reliability.serve_child", str(tmp_path / "child.json"),
            cwd=REPO, stdout=asyncio.subprocess.PIPE)
        try:
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), 60)
            assert line.strip() == b"ready"
            # 60 s real at speed 10: the calls outlast the kill, the start and the 20 s recovery wait
            scenario = Scenario(refund_callers(CALLS, spread_s=3.0), agent_phones(CALLS, talk_s=600.0),
                                "kill")
            traffic = asyncio.create_task(r.simulator.run_scenario(scenario))
            deadline = asyncio.get_running_loop().time() + 60
            while await talking_rows(db_url) < CALLS:
                assert asyncio.get_running_loop().time() < deadline, "calls did not connect"
                await asyncio.sleep(0.3)
        finally:
            child.kill()
            await child.wait()

        async with r.server() as server:
            await wait_for(lambda: sum(1 for c in server.tracker.live_calls()
                                       if c.state is CallState.TALKING) == CALLS, 20,
                           "the calls recovered", lambda: server.tracker.live_calls())
            for call in server.tracker.live_calls():
                assert call.answered_at is not None and call.caller is not None
            assert r.callers_hang_up() == CALLS  # recovered; their talk need not run out
            await asyncio.wait_for(traffic, 60)
            await wait_for(lambda: not server.tracker.live_calls(), 30, "every call to end")
            await server.clock.sleep(3.0)
            await server.recorder.flush()
            await wait_for(lambda: not [s for s in server.agents.statuses()
                                        if s.state in (AgentState.OFFERED, AgentState.TALKING)],
                           10, "agents free", lambda: server.agents.statuses())

    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch("SELECT state, outcome, answered_at, ended_at FROM calls"
                                " WHERE caller_channel LIKE 'PJSIP/pstn-%'")
    finally:
        await conn.close()
    assert len(rows) == CALLS
    assert {(row["state"], row["outcome"]) for row in rows} == {("ended", "answered")}
    assert all(row["ended_at"] > row["answered_at"] for row in rows)


async def queued_waiting_channel(db_url: str) -> str | None:
    """The caller channel of a call stored as waiting in the queue (queued, not answered)."""
    conn = await asyncpg.connect(db_url)
    try:
        channel: str | None = await conn.fetchval(
            "SELECT caller_channel FROM calls WHERE queued_at IS NOT NULL AND answered_at IS NULL"
            " AND state <> 'ended' AND ivr_path::text LIKE '%\"queued\"%' LIMIT 1")
        return channel
    finally:
        await conn.close()


async def test_given_caller_waiting_in_queue_when_server_killed_then_the_restarted_server_keeps_the_music(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    """One agent talks to the first caller, the second waits in the queue; the server is killed
    and started again. The previous process's stretch of hold music ends, and the restarted
    server starts the music again on that channel (it would otherwise wait in silence)."""
    db_url = new_database()
    speed = 10.0
    async with rig(db_url, tmp_path, agents=1, speed=speed) as r:
        (tmp_path / "child.toml").write_text(settings_toml(r.settings), encoding="utf-8")
        (tmp_path / "child.json").write_text(json.dumps(
            {"config": str(tmp_path / "child.toml"), "speed": speed}), encoding="utf-8")
        music: list[tuple[str, str]] = []  # (event, channel) of the hold music after the kill
        killed = False

        def listen(pairs: Sequence[tuple[str, str]]) -> None:
            fields = dict(pairs)
            if killed and fields.get("Event") in ("MusicOnHoldStart", "MusicOnHoldStop"):
                music.append((fields["Event"], fields.get("Channel", "")))

        r.simulator.pbx.listeners.append(listen)
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.reliability.serve_child", str(tmp_path / "child.json"),
            cwd=REPO, stdout=asyncio.subprocess.PIPE)
        traffic: asyncio.Task[object] | None = None
        try:
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), 60)
            assert line.strip() == b"ready"
            scenario = Scenario(refund_callers(2, spread_s=1.0, first=40), agent_phones(1, talk_s=3000.0),
                                "kill-queued")
            traffic = asyncio.create_task(r.simulator.run_scenario(scenario))
            deadline = asyncio.get_running_loop().time() + 60
            while (waiting := await queued_waiting_channel(db_url)) is None:
                assert asyncio.get_running_loop().time() < deadline, "no caller waited in the queue"
                await asyncio.sleep(0.2)
        finally:
            killed = True
            child.kill()
            await child.wait()
        try:
            async with r.server():
                # the previous stretch (at most half the AGI command timeout) ends, then the
                # restarted server's hold music starts on the waiting caller's channel
                def heard() -> list[str]:
                    return [name for name, channel in music if channel == waiting]

                await wait_for(lambda: "MusicOnHoldStop" in heard() and heard()[-1] == "MusicOnHoldStart",
                               30, "the hold music again after the previous stretch", heard)
        finally:
            if traffic is not None:
                traffic.cancel()
                await asyncio.gather(traffic, return_exceptions=True)
