"""Log-in, sessions, CSRF, throttling, roles and /api/calls against a real database."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcenter.metrics import Metrics
from callcenter.store.users import UserStore
from callcenter.web.app import Health, make_app


async def _db_ok() -> tuple[bool, str]:
    return True, "up"


@pytest.fixture
async def client(pool: asyncpg.Pool) -> AsyncIterator[TestClient]:
    await pool.execute("TRUNCATE users, sessions RESTART IDENTITY CASCADE")
    await pool.execute("TRUNCATE calls, call_legs, recordings CASCADE")
    users = UserStore(pool)
    agent_ids = []
    for n in (1, 2):
        agent_ids.append(await pool.fetchval(
            "INSERT INTO agents (login, display_name, dial_string) VALUES ($1, $2, $3)"
            " ON CONFLICT (login) DO UPDATE SET display_name = EXCLUDED.display_name RETURNING id",
            f"agent{n}", f"Agent {n}", f"PJSIP/100{n}"))
    await users.create_user("supervisor", "Sam Supervisor", "supervisor", "demo")
    await users.create_user("agent1", "Agent One", "agent", "demo", agent_id=agent_ids[0])
    for n, agent in enumerate(agent_ids, 1):
        await pool.execute(
            "INSERT INTO calls (linkedid, caller_number, state, outcome, arrived_at, ended_at, agent_id)"
            " VALUES ($1, '13800000001', 'ended', 'answered', now(), now(), $2)", f"17000000{n}.1", agent)
    app = make_app(Health(ami=lambda: (True, "up"), database=_db_ok), Metrics(), pool)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def json_login(client: TestClient, login: str, password: str = "demo") -> str:
    response = await client.post("/login", json={"login": login, "password": password})
    assert response.status == 200, await response.text()
    return str((await response.json())["csrf_token"])


async def test_form_login_needs_the_login_csrf_cookie_and_sets_a_strict_httponly_session(
        client: TestClient) -> None:
    page = await client.get("/login")
    assert page.status == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert token is not None
    forged = await client.post("/login", data={"login": "supervisor", "password": "demo",
                                               "csrf_token": "guess"}, allow_redirects=False)
    assert forged.status == 403
    ok = await client.post("/login", data={"login": "supervisor", "password": "demo",
                                           "csrf_token": token.group(1)}, allow_redirects=False)
    assert ok.status == 303 and ok.headers["Location"] == "/supervisor"
    cookie = ok.headers.getall("Set-Cookie")
    session_cookie = next(c for c in cookie if c.startswith("cc_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie


async def test_state_change_without_csrf_token_is_refused(client: TestClient) -> None:
    csrf = await json_login(client, "supervisor")
    refused = await client.post("/logout")
    assert refused.status == 403 and (await refused.json())["error_id"] == "csrf_failed"
    wrong = await client.post("/logout", headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status == 403
    assert (await client.get("/api/me")).status == 200
    ok = await client.post("/logout", headers={"X-CSRF-Token": csrf})
    assert ok.status == 200
    assert (await client.get("/api/me")).status == 401


async def test_failed_logins_are_throttled_and_audited(client: TestClient, pool: asyncpg.Pool) -> None:
    for _ in range(5):
        response = await client.post("/login", json={"login": "supervisor", "password": "nope"})
        assert response.status == 401
    throttled = await client.post("/login", json={"login": "supervisor", "password": "demo"})
    assert throttled.status == 429 and int(throttled.headers["Retry-After"]) > 0
    actions = [r["action"] for r in await pool.fetch(
        "SELECT action FROM audit_log WHERE actor = 'supervisor' ORDER BY id")]
    assert actions.count("login_failed") == 5 and "login_throttled" in actions
    assert not await pool.fetchval("SELECT count(*) FROM audit_log WHERE detail::text LIKE '%nope%'")


async def test_supervisor_lists_all_calls_agent_only_their_own(client: TestClient) -> None:
    await json_login(client, "supervisor")
    calls = (await (await client.get("/api/calls")).json())["calls"]
    assert len(calls) == 2
    client.session.cookie_jar.clear()
    await json_login(client, "agent1")
    mine = (await (await client.get("/api/calls")).json())["calls"]
    assert len(mine) == 1
    other = next(c for c in calls if c["id"] != mine[0]["id"])
    assert (await client.get(f"/api/calls/{other['id']}")).status == 404
    assert (await client.get(f"/api/calls/{mine[0]['id']}")).status == 200


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "state=nope", "from=yesterday",
                                   "from=2026-01-01T00:00:00", "caller_number=" + "9" * 40,
                                   "caller_number=1' OR '1'='1"])
async def test_bad_or_hostile_filters_get_a_clear_error_or_nothing(client: TestClient, query: str) -> None:
    await json_login(client, "supervisor")
    response = await client.get(f"/api/calls?{query}")
    if "OR" in query:
        assert response.status == 200 and (await response.json())["calls"] == []
    else:
        body = await response.json()
        assert response.status == 400 and body["error_id"] == "bad_parameter" and body["message"]


async def test_pages_carry_security_headers_and_api_needs_login(client: TestClient) -> None:
    response = await client.get("/api/calls")
    assert response.status == 401
    page = await client.get("/login")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    doc = await (await client.get("/api/openapi.json")).json()
    assert "/api/calls" in doc["paths"] and doc["openapi"].startswith("3.")


async def test_behind_a_trusted_tls_proxy_the_session_cookie_is_secure(pool: asyncpg.Pool) -> None:
    await UserStore(pool).create_user("tlsboss", "TLS Boss", "supervisor", "demo")
    for trusted, secure in ((True, True), (False, False)):
        app = make_app(Health(ami=lambda: (True, "up"), database=_db_ok), Metrics(), pool, trust_proxy=trusted)
        async with TestClient(TestServer(app)) as test_client:
            response = await test_client.post("/login", json={"login": "tlsboss", "password": "demo"},
                                              headers={"X-Forwarded-Proto": "https"})
            assert response.status == 200
            cookie = response.headers.get("Set-Cookie", "")
            assert ("Secure" in cookie) is secure, cookie
