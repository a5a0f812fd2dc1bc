"""/api/agents and /api/routing on the assembled server."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import asyncpg

from callcenter.server.build import build_server
from callcenter.store.users import UserStore
from tests.amifake import FakeAmi
from tests.integration.test_serve import settings_for

REPO = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def boss_and_sam(db_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """The server (the shipped config, a fake AMI) with the users ``boss`` (supervisor) and
    ``agent1`` (sam's); its base URL."""
    async with FakeAmi() as ami:
        settings = dataclasses.replace(settings_for(ami.port, db_url, tmp_path), config_dir=REPO / "config")
        async with build_server(settings) as server:
            pool: asyncpg.Pool = server.database.pool
            users = UserStore(pool)
            await users.create_user("boss", "Boss", "supervisor", "demo")
            sam_id = await pool.fetchval("SELECT id FROM agents WHERE login = 'sam'")
            await users.create_user("agent1", "Sam", "agent", "demo", agent_id=sam_id)
            yield f"http://127.0.0.1:{server.http_port}"


async def login(http: aiohttp.ClientSession, base: str, user: str) -> str:
    response = await http.post(f"{base}/login", json={"login": user, "password": "demo"})
    assert response.status == 200
    return str((await response.json())["csrf_token"])


async def test_agents_api_states_skills_and_roles(db_url: str, tmp_path: Path) -> None:
    async with boss_and_sam(db_url, tmp_path) as base, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await login(http, base, "agent1")
        mine = (await (await http.get(f"{base}/api/agents")).json())["agents"]
        assert [a["agent_id"] for a in mine] == ["sam"]
        ready = await http.post(f"{base}/api/agents/sam/state", json={"state": "ready"},
                                headers={"X-CSRF-Token": csrf})
        assert ready.status == 200 and (await ready.json())["state"] == "ready"
        other = await http.post(f"{base}/api/agents/maria/state", json={"state": "ready"},
                                headers={"X-CSRF-Token": csrf})
        assert other.status == 404  # another agent looks like no agent
        no_reason = await http.post(f"{base}/api/agents/sam/state", json={"state": "paused"},
                                    headers={"X-CSRF-Token": csrf})
        assert no_reason.status == 400
        assert (await http.get(f"{base}/api/routing/stats")).status == 403
        http.cookie_jar.clear()
        csrf = await login(http, base, "boss")
        everyone = (await (await http.get(f"{base}/api/agents")).json())["agents"]
        assert {"sam", "maria"} <= {a["agent_id"] for a in everyone}
        paused = await http.post(f"{base}/api/agents/sam/state",
                                 json={"state": "paused", "reason": "break"},
                                 headers={"X-CSRF-Token": csrf})
        assert (await paused.json())["state"] == "paused"
        skills = await http.put(f"{base}/api/agents/sam/skills",
                                json={"skills": {"refunds": 2, "general": 5}},
                                headers={"X-CSRF-Token": csrf})
        assert skills.status == 200 and (await skills.json())["skills"] == {"refunds": 2, "general": 5}
        bad = await http.put(f"{base}/api/agents/sam/skills", json={"skills": {"refunds": 9}},
                             headers={"X-CSRF-Token": csrf})
        assert bad.status == 400 and (await bad.json())["error_id"]
        unknown = await http.post(f"{base}/api/agents/nobody/state", json={"state": "ready"},
                                  headers={"X-CSRF-Token": csrf})
        assert unknown.status == 404
        stats = await (await http.get(f"{base}/api/routing/stats")).json()
        assert "waiting" in stats and "agents" in stats
    conn = await asyncpg.connect(db_url)
    try:
        audit = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'agent_skills_changed'")
        assert audit == 1
    finally:
        await conn.close()
