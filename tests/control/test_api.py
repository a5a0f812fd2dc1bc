"""``POST /api/calls/{call_id}/control`` on the real server (fake AMI): agents only, CSRF, a
validated body, one 404 for a call that is not yours, and in the OpenAPI document."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import aiohttp

from callcenter.server.build import build_server
from callcenter.store.users import UserStore
from tests.amifake import FakeAmi
from tests.integration.test_serve import settings_for

REPO = Path(__file__).resolve().parents[2]


async def test_control_route_checks_role_csrf_body_and_ownership(db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami:
        settings = dataclasses.replace(settings_for(ami.port, db_url, tmp_path), config_dir=REPO / "config")
        async with build_server(settings) as server:
            pool = server.database.pool
            sam = await pool.fetchval("SELECT id FROM agents WHERE login = 'sam'")
            await UserStore(pool).create_user("ctl_agent", "Sam", "agent", "demo", agent_id=sam)
            await UserStore(pool).create_user("ctl_boss", "Boss", "supervisor", "demo")
            base = f"http://127.0.0.1:{server.http_port}"
            url = f"{base}/api/calls/1700000000.1/control"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                await http.post(f"{base}/login", json={"login": "ctl_boss", "password": "demo"})
                boss_csrf = (await (await http.get(f"{base}/api/me")).json())["csrf_token"]
                async with http.post(url, json={"action": "hold"}, headers={"X-CSRF-Token": boss_csrf}) as r:
                    assert r.status == 403
                http.cookie_jar.clear()
                await http.post(f"{base}/login", json={"login": "ctl_agent", "password": "demo"})
                csrf = (await (await http.get(f"{base}/api/me")).json())["csrf_token"]
                async with http.post(url, json={"action": "hold"}) as r:
                    assert r.status == 403 and (await r.json())["error_id"] == "csrf_failed"
                for body, status, error_id in (({"action": "explode"}, 400, "bad_action"),
                                               ({}, 400, "bad_action"),
                                               ({"action": "hold"}, 404, "not_found")):
                    async with http.post(url, json=body, headers={"X-CSRF-Token": csrf}) as r:
                        assert (r.status, (await r.json())["error_id"]) == (status, error_id), body
                async with http.post(url, data="not json", headers={"X-CSRF-Token": csrf}) as r:
                    assert r.status == 400
                async with http.post(f"{base}/api/calls/not-a-call/control", json={"action": "hold"},
                                     headers={"X-CSRF-Token": csrf}) as r:
                    assert r.status == 404
                spec = await (await http.get(f"{base}/api/openapi.json")).json()
                route = spec["paths"]["/api/calls/{call_id}/control"]["post"]
                assert route["requestBody"]["content"]["application/json"]["schema"]["properties"][
                    "action"]["enum"] == ["hangup", "hold", "resume", "mute", "unmute", "transfer",
                                        "consult", "complete", "cancel", "conference"]
                bad_targets: tuple[dict[str, object], ...] = (
                    {"action": "transfer", "number": "warehouse", "skill": "refunds"},
                    {"action": "transfer", "number": 5}, {"action": "transfer", "number": "1" * 65})
                for bad in bad_targets:
                    async with http.post(url, json=bad, headers={"X-CSRF-Token": csrf}) as r:
                        assert (r.status, (await r.json())["error_id"]) == (400, "bad_target"), bad
                async with http.post(url, json={"action": "transfer", "number": "warehouse"},
                                     headers={"X-CSRF-Token": csrf}) as r:
                    assert r.status == 404  # not sam's call: nothing is dialled
                async with http.get(f"{base}/api/control/targets") as r:
                    assert r.status == 200
                    targets = await r.json()
                assert [d["code"] for d in targets["outside"]] == ["warehouse", "courier"]
                assert targets["outside"][0]["label"] == {"en": "Warehouse", "zh-CN": "仓库"}
                assert "+861055500100" not in str(targets) and targets["typed"] is False
                assert all(a["agent_id"] != "sam" for a in targets["agents"])
                assert all({"agent_id", "name", "state", "ready", "skills"} <= set(a)
                           for a in targets["agents"])
                http.cookie_jar.clear()
                await http.post(f"{base}/login", json={"login": "ctl_boss", "password": "demo"})
                async with http.get(f"{base}/api/control/targets") as r:
                    assert r.status == 403
