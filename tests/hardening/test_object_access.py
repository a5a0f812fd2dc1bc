"""An agent reaches objects only through a call or ticket that is theirs, and "not yours" looks
exactly like "does not exist" (no id oracle)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcenter.kb.store import seed_articles
from callcenter.metrics import Metrics
from callcenter.store.users import UserStore
from callcenter.web import api_kb, api_tickets
from callcenter.web.app import Health, make_app

SEED = Path(__file__).resolve().parents[2] / "config" / "kb"


async def _db_ok() -> tuple[bool, str]:
    return True, "up"


@pytest.fixture
async def world(pool: asyncpg.Pool) -> AsyncIterator[tuple[TestClient, dict[str, int]]]:
    await pool.execute("TRUNCATE users, sessions, kb_articles, calls, customers, tickets, agents"
                       " RESTART IDENTITY CASCADE")
    await seed_articles(pool, SEED)
    ids: dict[str, int] = {}
    users = UserStore(pool)
    for n in (1, 2):
        agent = await pool.fetchval(
            "INSERT INTO agents (login, display_name, dial_string) VALUES ($1, $2, $3) RETURNING id",
            f"agent{n}", f"Agent {n}", f"PJSIP/100{n}")
        await users.create_user(f"agent{n}", f"Agent {n}", "agent", "demo", agent_id=agent)
        customer = await pool.fetchval(
            "INSERT INTO customers (phone, name) VALUES ($1, $2) RETURNING id",
            f"1380000000{n}", f"Customer {n}")
        call = await pool.fetchval(
            "INSERT INTO calls (linkedid, state, outcome, arrived_at, ended_at, agent_id, customer_id)"
            " VALUES ($1, 'ended', 'answered', now(), now(), $2, $3) RETURNING id",
            f"1700.{n}", agent, customer)
        ticket = await pool.fetchval(
            "INSERT INTO tickets (customer_id, call_id, kind, subject, owner_agent_id, reply_due_at)"
            " VALUES ($1, $2, 'inquiry', 'x', $3, now()) RETURNING id", customer, call, agent)
        ids.update({f"agent{n}": agent, f"customer{n}": customer, f"call{n}": call, f"ticket{n}": ticket})
    app = make_app(Health(ami=lambda: (True, "up"), database=_db_ok), Metrics(), pool,
                   features=[api_kb.register, api_tickets.register])
    async with TestClient(TestServer(app)) as client:
        yield client, ids


async def login(client: TestClient, name: str) -> dict[str, str]:
    response = await client.post("/login", json={"login": name, "password": "demo"})
    assert response.status == 200
    return {"X-CSRF-Token": (await response.json())["csrf_token"]}


async def answer(client: TestClient, method: str, path: str, headers: dict[str, str],
                 body: Any = None) -> tuple[int, Any]:
    response = await client.request(method, path, json=body, headers=headers)
    data = await response.json()
    data.pop("message", None)
    return response.status, data


async def test_an_agent_cannot_open_a_ticket_for_another_customer(world: tuple[TestClient, dict[str, int]],
                                                                   pool: asyncpg.Pool) -> None:
    client, ids = world
    csrf = await login(client, "agent1")
    for body in ({"call_id": ids["call1"], "customer_id": ids["customer2"]},
                 {"call_id": ids["call2"], "customer_id": ids["customer2"]},
                 {"call_id": 10**9, "customer_id": ids["customer2"]},
                 {"call_id": ids["call1"], "customer_id": 10**9}):
        status, data = await answer(client, "POST", "/api/tickets", csrf,
                                    {**body, "kind": "inquiry", "subject": "peek"})
        assert status == 404 and "Customer 2" not in str(data), body
    assert await pool.fetchval("SELECT count(*) FROM tickets") == 2
    status, ticket = await answer(client, "POST", "/api/tickets", csrf,
                                  {"call_id": ids["call1"], "kind": "inquiry", "subject": "mine"})
    assert status == 200 and ticket["customer_id"] == ids["customer1"]


async def test_not_yours_and_does_not_exist_give_the_same_answer(
        world: tuple[TestClient, dict[str, int]]) -> None:
    client, ids = world
    csrf = await login(client, "agent1")
    pairs = [("GET", f"/api/calls/{ids['call2']}", f"/api/calls/{10**9}", None),
             ("GET", f"/api/tickets/{ids['ticket2']}", f"/api/tickets/{10**9}", None),
             ("PATCH", f"/api/tickets/{ids['ticket2']}", f"/api/tickets/{10**9}", {"notes": "x"}),
             ("POST", f"/api/calls/{ids['call2']}/disposition", f"/api/calls/{10**9}/disposition",
              {"code": "resolved"})]
    for method, theirs, missing, body in pairs:
        assert await answer(client, method, theirs, csrf, body) == \
            await answer(client, method, missing, csrf, body), theirs
        assert (await answer(client, method, theirs, csrf, body))[0] == 404


async def test_an_agent_cannot_record_knowledge_base_use_on_another_agents_call(
        world: tuple[TestClient, dict[str, int]], pool: asyncpg.Pool) -> None:
    client, ids = world
    csrf = await login(client, "agent1")
    article = await pool.fetchval("SELECT id FROM kb_articles WHERE status = 'published' LIMIT 1")
    for ref in (ids["call2"], "1700.2"):
        theirs = await client.post(f"/api/kb/articles/{article}/views", headers=csrf,
                                   json={"call_id": ref, "source": "suggestion"})
        assert theirs.status == 200
        suggested = await (await client.post("/api/kb/suggest", headers=csrf,
                                             json={"call_id": ref, "skill": "refunds"})).json()
        assert suggested["call_id"] is None and suggested["recorded"] == 0
    assert await pool.fetchval("SELECT count(*) FROM article_views WHERE call_id IS NOT NULL") == 0
    assert await pool.fetchval("SELECT count(*) FROM kb_suggestions") == 0
    mine = await (await client.post("/api/kb/suggest", headers=csrf,
                                    json={"call_id": ids["call1"], "skill": "refunds"})).json()
    assert mine["call_id"] == ids["call1"] and mine["recorded"] >= 1
