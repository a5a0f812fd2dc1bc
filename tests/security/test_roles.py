"""Who may open what: every page and API group refuses the roles it is not for."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import aiohttp

from callcenter.server.build import build_server
from callcenter.web.users import UserStore
from tests.amifake import FakeAmi
from tests.integration.test_serve import settings_for

REPO = Path(__file__).resolve().parents[2]
# path -> the roles that may GET it (everyone else: 403; nobody logged in: 401 or to /login)
ACCESS = {
    "/agent": {"agent"},
    "/qa": {"qa", "supervisor", "admin"},
    "/api/qa/calls": {"qa", "supervisor", "admin"},
    "/api/qa/calls.csv": {"qa", "supervisor", "admin"},
    "/supervisor": {"supervisor", "admin"},
    "/api/wallboard": {"supervisor", "admin"},
    "/api/routing/stats": {"supervisor", "admin"},
    "/reports": {"supervisor", "admin"},
    "/api/kpis": {"supervisor", "admin"},
    "/kb": {"supervisor", "admin"},
    "/api/calls": {"agent", "qa", "supervisor", "admin"},
    "/api/kb/search?q=refund": {"agent", "qa", "supervisor", "admin"},
}


async def test_each_role_reaches_only_its_pages_and_apis(db_url: str, tmp_path: Path) -> None:
    async with FakeAmi() as ami:
        settings = dataclasses.replace(settings_for(ami.port, db_url, tmp_path), config_dir=REPO / "config")
        async with build_server(settings) as server:
            pool = server.database.pool
            users = UserStore(pool)
            sam = await pool.fetchval("SELECT id FROM agents WHERE login = 'sam'")
            for role in ("agent", "qa", "supervisor", "admin"):
                await users.create_user(f"r_{role}", role, role, "demo",
                                        agent_id=sam if role == "agent" else None)
            base = f"http://127.0.0.1:{server.http_port}"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                for path in ACCESS:
                    anonymous = await http.get(base + path, allow_redirects=False)
                    assert anonymous.status in (401, 303), (path, anonymous.status)
                for role in ("agent", "qa", "supervisor", "admin"):
                    http.cookie_jar.clear()
                    login = await http.post(f"{base}/login", json={"login": f"r_{role}", "password": "demo"})
                    assert login.status == 200
                    for path, allowed in ACCESS.items():
                        response = await http.get(base + path, allow_redirects=False)
                        expected = 200 if role in allowed else 403
                        assert response.status == expected, (role, path, response.status)
                    home = {"agent": "/agent", "qa": "/qa"}.get(role, "/supervisor")
                    page = await (await http.get(base + home)).text()
                    nav = re.search(r"<nav>(.*?)</nav>", page, re.S)
                    assert nav is not None
                    links = set(re.findall(r'href="([^"]+)"', nav.group(1)))
                    assert home in links
                    assert all(role in ACCESS.get(link, {role}) for link in links), (role, links)
            actions = {r["action"] for r in await pool.fetch("SELECT DISTINCT action FROM audit_log")}
            assert "login" in actions or "login_ok" in actions or any("login" in a for a in actions)
