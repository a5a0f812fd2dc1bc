"""The assembled server: health, metrics, a database outage, an AMI outage, resync."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import asyncpg

from callcenter.ami.parser import Frame
from callcenter.server.build import build_server
from callcenter.settings import AmiSettings, DatabaseSettings, HttpSettings, Secret, Settings
from tests.amifake import FakeAmi, frame
from tests.integration.conftest import PgProxy


def settings_for(ami_port: int, db_url: str, state_dir: Path) -> Settings:
    return Settings(
        state_dir=state_dir,
        ami=AmiSettings(port=ami_port, secret=Secret("s3cret"), reconnect_min_s=0.05,
                        reconnect_max_s=0.2, ping_interval_s=3600.0),
        database=DatabaseSettings(url=Secret(db_url)),
        http=HttpSettings(port=0),
    )


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def get(port: int, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, await response.text()


async def ready(port: int, timeout: float = 10.0) -> tuple[int, str]:
    """/healthz once the server says it is ready (the link logged in, the IVR heartbeat told to
    the dialplan, the calls reconciled): that takes a moment after the link comes up."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = await get(port, "/healthz")
        if status == 200 or time.monotonic() > deadline:
            return status, body
        await asyncio.sleep(0.05)


async def test_given_ami_and_database_up_then_healthz_200_and_metrics_count_events(
        db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami, build_server(settings_for(ami.port, db_url, tmp_path)) as server:
        await server.ami.wait_connected(5)
        status, body = await ready(server.http_port)
        assert status == 200 and '"ok": true' in body.replace('"ok":true', '"ok": true')
        ami.push(frame("Event: Newchannel", "Channel: PJSIP/pstn-00000001", "ChannelStateDesc: Ring",
                       "CallerIDNum: 13800000001", "CallerIDName: Alice", "Context: inbound",
                       "Exten: 4001", "Uniqueid: 1700000000.1", "Linkedid: 1700000000.1"))
        await wait_for(lambda: server.ami.events_received >= 2)
        status, text = await get(server.http_port, "/metrics")
        assert status == 200
        assert f"callcenter_ami_events_total {float(server.ami.events_received)}" in text
        assert "callcenter_ami_link_up 1.0" in text
        await wait_for(lambda: server.recorder.statistics()["pending"] == 0)
        await server.recorder.flush()
        conn = await asyncpg.connect(db_url)
        try:
            row = await conn.fetchrow("SELECT caller_number, state FROM calls WHERE linkedid = '1700000000.1'")
        finally:
            await conn.close()
        assert row is not None and row["caller_number"] == "13800000001" and row["state"] == "ivr"


async def test_given_ami_link_down_then_healthz_503_names_it_and_server_reconnects(
        db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami, build_server(settings_for(ami.port, db_url, tmp_path)) as server:
        await server.ami.wait_connected(5)
        ami.silent.add("Login")
        ami.drop()
        await wait_for(lambda: not server.ami.connected)
        status, body = await get(server.http_port, "/healthz")
        assert status == 503 and '"ami"' in body and "degraded" in body
        ami.silent.discard("Login")
        ami.drop()  # the half-logged-in retry
        await wait_for(lambda: server.ami.connected, timeout=10)
        status, _ = await ready(server.http_port)
        assert status == 200


async def test_given_database_outage_then_healthz_503_and_events_written_after(
        db_proxy: PgProxy, db_url: str, tmp_path: Path) -> None:
    proxy = db_proxy
    async with FakeAmi() as ami, build_server(settings_for(ami.port, proxy.url, tmp_path)) as server:
        await server.ami.wait_connected(5)
        proxy.cut()
        status, body = await get(server.http_port, "/healthz")
        assert status == 503 and "unreachable" in body
        ami.push(frame("Event: Newchannel", "Channel: PJSIP/pstn-00000002", "ChannelStateDesc: Ring",
                       "CallerIDNum: 13800000002", "CallerIDName: Bob", "Context: inbound",
                       "Exten: 4001", "Uniqueid: 1700000001.1", "Linkedid: 1700000001.1"))
        await wait_for(lambda: server.ami.events_received >= 2)
        await asyncio.sleep(0.5)
        assert server.recorder.statistics()["pending"] >= 1
        proxy.restore()
        await wait_for(lambda: server.recorder.statistics()["pending"] == 0, timeout=10)
        status, _ = await ready(server.http_port)
        assert status == 200
    conn = await asyncpg.connect(db_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM call_events WHERE linkedid = '1700000001.1'") == 1
    finally:
        await conn.close()


async def test_given_live_calls_on_connect_then_resync_rebuilds_them(db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami:
        def core_show_channels(action: Frame) -> list[bytes]:
            aid = action.fields["ActionID"]
            return [frame("Response: Success", f"ActionID: {aid}", "EventList: start"),
                    frame("Event: CoreShowChannel", f"ActionID: {aid}", "Channel: PJSIP/pstn-00000009",
                          "ChannelState: 6", "ChannelStateDesc: Up", "CallerIDNum: 13900000009",
                          "CallerIDName: Carol", "Context: inbound", "Exten: 4001",
                          "Uniqueid: 1700000009.1", "Linkedid: 1700000009.1", "Application: AGI",
                          "ApplicationData: agi:async", "Duration: 00:00:12", "BridgeId: "),
                    frame("Event: CoreShowChannelsComplete", f"ActionID: {aid}", "EventList: Complete",
                          "ListItems: 1")]

        ami.replies["CoreShowChannels"] = core_show_channels
        async with build_server(settings_for(ami.port, db_url, tmp_path)) as server:
            await wait_for(lambda: any(c.linkedid == "1700000009.1" for c in server.tracker.live_calls()))
            [call] = [c for c in server.tracker.live_calls() if c.linkedid == "1700000009.1"]
            assert call.caller is not None and call.caller.caller_name == "Carol"
            assert call.state.value == "ivr"
