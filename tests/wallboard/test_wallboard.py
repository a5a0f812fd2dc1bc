"""The supervisor's wallboard: the snapshot, who may see it, the WebSocket, and the live page."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from callcenter.server.build import build_server
from callcenter.server.resync import Server
from callcenter.store.users import UserStore
from callcenter.web.wallboard import build_snapshot, day_start
from tests.amifake import FakeAmi
from tests.helpers.chromium import chromium, signed_in
from tests.helpers.polling import wait_until
from tests.integration.test_serve import settings_for

REPO = Path(__file__).resolve().parents[2]


def test_snapshot_counts_tiles_states_and_who_is_on_which_call() -> None:
    now = time.time()
    routing = {"waiting": 3, "longest_wait_s": 74.26, "service_level": 0.75,
               "skills": [{"skill": "refunds", "waiting": 3, "longest_wait_s": 74.3, "entered": 9, "answered": 6,
                           "abandoned": 1, "service_level": 0.75, "service_level_target_s": 20, "abandon_rate": 0.14,
                           "asa_s": 12.0}],
               "agent_details": [
                   {"agent_id": "sam", "state": "talking", "reason": "", "since": now - 30, "call_id": "17.1",
                    "reachable": True, "answered": 4},
                   {"agent_id": "li", "state": "paused", "reason": "lunch", "since": now - 600, "call_id": None},
                   {"agent_id": "wei", "state": "talking", "reason": "", "since": now - 5, "call_id": "gone.9"}]}
    day = {"offered": 20, "answered": 16, "abandoned": 2, "short_abandons": 2, "asa_s": 11.25, "csat": 4.5}
    live = {"17.1": {"caller_number": "13800000001", "caller_name": "Chen", "answered_at":
                     datetime.now(UTC) - timedelta(seconds=42), "arrived_at": datetime.now(UTC)}}
    snap = build_snapshot(routing, day, live, {"sam": "Sam Lee", "li": "Li Na"}, now)
    tiles = snap["tiles"]
    assert tiles["waiting"] == 3 and tiles["longest_wait_s"] == 74.3
    assert tiles["abandon_rate_today"] == pytest.approx(2 / 18, abs=1e-4)  # short abandons left out
    assert tiles["short_abandons_today"] == 2 and tiles["asa_today_s"] == 11.2
    assert snap["agents_by_state"] == {"talking": 2, "paused": 1}
    sam = next(a for a in snap["agents"] if a["agent_id"] == "sam")
    assert sam["name"] == "Sam Lee" and sam["call"]["caller_number"] == "13800000001"
    assert 41 <= sam["call"]["duration_s"] <= 44 and sam["since_s"] == 30
    assert next(a for a in snap["agents"] if a["agent_id"] == "wei")["call"] is None
    assert build_snapshot(None, {}, {}, {}, now)["tiles"]["abandon_rate_today"] is None


def test_the_day_starts_at_midnight_utc() -> None:
    assert day_start(datetime(2026, 11, 24, 17, 5, tzinfo=UTC)) == datetime(2026, 11, 24, tzinfo=UTC)


@pytest.fixture
async def server(db_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    async with FakeAmi() as ami:
        settings = dataclasses.replace(settings_for(ami.port, db_url, tmp_path), config_dir=REPO / "config")
        async with build_server(settings) as server:
            pool = server.database.pool
            # the server's own role may not TRUNCATE: the test clears the users as the owner
            owner = await asyncpg.connect(db_url)
            try:
                await owner.execute("TRUNCATE users, sessions CASCADE")
            finally:
                await owner.close()
            users = UserStore(pool)
            await users.create_user("boss", "Boss", "supervisor", "demo", language="zh-CN")
            sam = await pool.fetchval("SELECT id FROM agents WHERE login = 'sam'")
            await users.create_user("agent1", "Sam", "agent", "demo", agent_id=sam)
            yield server


async def login(http: aiohttp.ClientSession, base: str, user: str) -> str:
    response = await http.post(f"{base}/login", json={"login": user, "password": "demo"})
    assert response.status == 200
    return str((await response.json())["csrf_token"])


async def test_only_supervisors_get_the_wallboard_and_its_socket(server: Server) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        assert (await http.get(f"{base}/api/wallboard")).status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as no_session:
            await http.ws_connect(f"{base}/ws/wallboard")
        assert no_session.value.status == 401
        await login(http, base, "agent1")
        assert (await http.get(f"{base}/api/wallboard")).status == 403
        assert (await http.get(f"{base}/supervisor")).status == 403
        http.cookie_jar.clear()
        await login(http, base, "boss")
        body = await (await http.get(f"{base}/api/wallboard")).json()
        assert {"tiles", "skills", "agents", "agents_by_state"} <= set(body)
        with pytest.raises(aiohttp.WSServerHandshakeError) as forged:
            await http.ws_connect(f"{base}/ws/wallboard", headers={"Origin": "https://evil.example"})
        assert forged.value.status == 403
        async with http.ws_connect(f"{base}/ws/wallboard", headers={"Origin": base}) as ws:
            first = await ws.receive_json(timeout=5)
            assert "tiles" in first
            await ws.send_str("x" * 10000)  # oversized: the server closes instead of reading it
            closed = await ws.receive(timeout=5)
            assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)


async def test_the_page_shows_counts_change_live(server: Server) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    async with chromium() as browser:
        page, errors = await signed_in(browser, base, "boss", "/supervisor")
        await page.wait_for_selector("#agents tbody tr")
        assert "监控大屏" in await page.title()  # the boss reads Chinese
        before = await page.locator(".state[data-state=ready]").count()
        server.agents.login("sam", ready=True)
        server.agents.login("maria", ready=True)

        async def ready_tile() -> str:
            ready = page.locator(".state[data-state=ready]")
            return (await ready.text_content() or "") if await ready.count() else ""

        await wait_until(ready_tile, lambda text: text.endswith(": 2"),
                         f"2 ready agents on the page (had {before})", timeout_s=6, every_s=0.1)
        state = await page.text_content("#agents tr[data-agent=sam] .agent-state")
        assert state == "就绪"
        assert not errors, errors


async def test_given_focus_on_an_agent_row_when_snapshots_arrive_then_the_same_row_keeps_it(
        server: Server) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    server.agents.login("sam", ready=True)
    async with chromium() as browser:
        page, errors = await signed_in(browser, base, "boss", "/supervisor")
        row = page.locator("#agents tr[data-agent=sam]")
        await row.wait_for()
        await row.focus()
        await page.evaluate("window.focusedRow = document.activeElement; window.redraws = 0;"
                            " new MutationObserver(() => { window.redraws += 1; })"
                            ".observe(document.getElementById('wallboard'),"
                            " {childList: true, characterData: true, subtree: true})")

        async def redraws() -> int:
            return int(await page.evaluate("window.redraws"))

        await wait_until(redraws, lambda n: n >= 2, "two snapshots drawn", timeout_s=8, every_s=0.1)
        focused = await page.evaluate(
            "[document.activeElement.dataset.agent, document.activeElement === window.focusedRow]")
        assert focused == ["sam", True]
        assert not errors, errors
