"""The agent's WebSocket: session and origin checked, and a dropped browser catches up."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import aiohttp
import pytest

from callcenter.server.build import build_server
from callcenter.web.agent_page import HUB
from callcenter.web.users import UserStore
from tests.amifake import FakeAmi
from tests.integration.test_serve import settings_for

REPO = Path(__file__).resolve().parents[2]


async def test_the_feed_is_authenticated_and_catches_up_after_a_drop(db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami:
        settings = dataclasses.replace(settings_for(ami.port, db_url, tmp_path), config_dir=REPO / "config")
        async with build_server(settings) as server:
            pool = server.database.pool
            users = UserStore(pool)
            sam = await pool.fetchval("SELECT id FROM agents WHERE login = 'sam'")
            await users.create_user("ws_agent", "Sam", "agent", "demo", agent_id=sam)
            await users.create_user("ws_boss", "Boss", "supervisor", "demo")
            hub = server.http.app[HUB]
            base = f"http://127.0.0.1:{server.http_port}"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                with pytest.raises(aiohttp.WSServerHandshakeError) as anonymous:
                    await http.ws_connect(f"{base}/ws/agent")
                assert anonymous.value.status == 401
                await http.post(f"{base}/login", json={"login": "ws_boss", "password": "demo"})
                with pytest.raises(aiohttp.WSServerHandshakeError) as boss:
                    await http.ws_connect(f"{base}/ws/agent")
                assert boss.value.status == 403
                http.cookie_jar.clear()
                await http.post(f"{base}/login", json={"login": "ws_agent", "password": "demo"})
                with pytest.raises(aiohttp.WSServerHandshakeError) as forged:
                    await http.ws_connect(f"{base}/ws/agent", headers={"Origin": "https://evil.example"})
                assert forged.value.status == 403

                async with http.ws_connect(f"{base}/ws/agent?since=0") as ws:
                    hello = await ws.receive_json(timeout=5)
                    assert hello["type"] == "hello" and hello["agent_id"] == "sam"
                    assert (await ws.receive_json(timeout=5))["type"] == "snapshot"
                    hub.publish("sam", {"type": "state", "state": "ready", "reason": ""})
                    live = await ws.receive_json(timeout=5)
                    last = live["seq"]
                # the browser is gone; things happen meanwhile
                hub.publish("sam", {"type": "pop", "call_id": "1700.5"})
                hub.publish("sam", {"type": "answered", "call_id": "1700.5"})
                async with http.ws_connect(f"{base}/ws/agent?since={last}") as ws:
                    assert (await ws.receive_json(timeout=5))["type"] == "hello"
                    missed = [await ws.receive_json(timeout=5) for _ in range(2)]
                    assert [m["type"] for m in missed] == ["pop", "answered"]
                    assert [m["seq"] for m in missed] == [last + 1, last + 2]
                    await ws.send_str("x" * 5000)  # oversized: closed, not read
                    closed = await ws.receive(timeout=5)
                    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                           aiohttp.WSMsgType.ERROR)
