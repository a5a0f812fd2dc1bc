"""/healthz tells the truth about readiness, and the IVR is alive for the dialplan the moment the
AMI link is up (calls in the first seconds after a start must not skip the IVR)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from callcenter.server.resync import Server
from tests.reliability.harness import rig, wait_for


async def health(server: Server) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, \
            session.get(f"http://127.0.0.1:{server.http_port}/healthz") as response:
        return response.status, await response.json()


async def test_healthz_is_503_until_the_link_is_up_and_the_heartbeat_goes_out_at_once(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    async with rig(new_database(), tmp_path, agents=2, speed=1.0) as r:
        port = r.simulator.port
        await r.simulator.stop()  # Asterisk is not there yet when the server starts
        r.simulator.config = dataclasses.replace(r.simulator.config, port=port)
        async with r.server() as server:
            await asyncio.sleep(0.5)
            status, body = await health(server)
            assert status == 503 and body["status"] == "degraded"
            assert body["ami"]["ok"] is False and body["ivr"]["ok"] is False
            assert "CC_IVR_HEARTBEAT" not in r.simulator.pbx.globals

            await r.simulator.start()
            await wait_for(lambda: server.ami.connected, 20, "the link to come up")
            up_at = time.monotonic()
            await wait_for(lambda: "CC_IVR_HEARTBEAT" in r.simulator.pbx.globals, 3,
                           "the first heartbeat right after the link came up")
            assert time.monotonic() - up_at < 3
            await wait_for(lambda: server.reconciled, 5, "reconciled")
            status, body = await health(server)
            assert status == 200, body
            assert body["ivr"]["ok"] and body["calls"]["ok"] and body["status"] == "ok"

            # the link goes away: not ready until it is back, told to the dialplan and reconciled
            r.simulator.freeze_ami()
            await wait_for(lambda: not server.ami.connected, 20, "the link to drop")
            status, body = await health(server)
            assert status == 503 and body["ivr"]["ok"] is False and body["calls"]["ok"] is False
            r.simulator.thaw_ami()
            await wait_for(lambda: server.ami.connected, 20, "the link to come back")
            deadline = time.monotonic() + 5
            while (await health(server))[0] != 200:
                assert time.monotonic() < deadline, await health(server)
                await asyncio.sleep(0.1)
