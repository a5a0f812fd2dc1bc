"""What the real-PBX transfer tests do through the agents' consoles: control requests, the
agent socket's messages, a caller answered by hana."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.pbx.amiclient import event
from tests.pbx.ivrcaller import caller_channel, linkedid_of, through_menus
from tests.pbx.rig import Rig
from tests.pbx.server import Web


async def control(web: Web, call_id: str, body: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with web.session.post(f"{web.base}/api/calls/{call_id}/control", json=body,
                                headers={"X-CSRF-Token": web.csrf}) as response:
        return response.status, await response.json()


_listeners: set[asyncio.Task[None]] = set()


async def pops_of(rig: Rig, web: Web, into: list[dict[str, Any]]) -> aiohttp.ClientWebSocketResponse:
    ws = await web.session.ws_connect(rig.deployment.url.replace("http", "ws") + "/ws/agent",
                                      headers={"Origin": rig.deployment.url})

    async def listen() -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                into.append(json.loads(message.data))

    task = asyncio.create_task(listen())
    _listeners.add(task)  # kept alive while the socket is open
    task.add_done_callback(_listeners.discard)
    return ws


async def wait_for(found: list[dict[str, Any]], kind: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for message in found:
            if message.get("type") == kind:
                return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {kind} message in {found}")


async def refused(web: Web, call_id: str, body: dict[str, str]) -> tuple[int, str]:
    status, answer = await control(web, call_id, body)
    return status, answer.get("error_id", "")


async def answered_by_hana(rig: Rig, ami: Any, number: str, tmp_path: Path) -> tuple[str, str]:
    """A caller through the menus to hana (general), bridged: (caller channel, call id)."""
    since = time.time()
    caller = rig.caller(number, record=tmp_path / "caller-heard.wav")
    channel = await caller_channel(ami, number, since)
    call_id = await linkedid_of(ami, channel)
    await caller.wait_state("CONFIRMED", 10)
    await through_menus(ami, caller, channel, [("choose-language", "1"), ("main-menu", "0")], since)
    await ami.wait(event("BridgeEnter", Channel="PJSIP/1051-"), 30, "hana bridged", since)
    return channel, call_id


