"""The knowledge-base API and pages against a real database: roles, article life cycle with
versions, safe HTML, suggestions for a pop, views and open rates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcenter.kb.store import seed_articles
from callcenter.metrics import Metrics
from callcenter.store.users import UserStore
from callcenter.web import api_kb, api_kpis, kb_page, reports_page
from callcenter.web.app import Health, make_app

pytestmark = pytest.mark.integration
SEED = Path(__file__).resolve().parents[2] / "config" / "kb"


async def _db_ok() -> tuple[bool, str]:
    return True, "up"


@pytest.fixture
async def client(pool: asyncpg.Pool) -> AsyncIterator[TestClient]:
    await pool.execute("TRUNCATE users, sessions, kb_articles, calls RESTART IDENTITY CASCADE")
    await seed_articles(pool, SEED)
    agent = await pool.fetchval(
        "INSERT INTO agents (login, display_name, dial_string) VALUES ('agent1', 'Agent 1', 'PJSIP/1001')"
        " ON CONFLICT (login) DO UPDATE SET display_name = EXCLUDED.display_name RETURNING id")
    users = UserStore(pool)
    await users.create_user("sup", "Sam Supervisor", "supervisor", "demo")
    await users.create_user("agent1", "Agent One", "agent", "demo", agent_id=agent, language="zh-CN")
    app = make_app(Health(ami=lambda: (True, "up"), database=_db_ok), Metrics(), pool,
                   features=[api_kb.register, kb_page.register, api_kpis.register,
                             reports_page.register])
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def login(client: TestClient, name: str) -> dict[str, str]:
    response = await client.post("/login", json={"login": name, "password": "demo"})
    assert response.status == 200
    return {"X-CSRF-Token": (await response.json())["csrf_token"]}


ARTICLE = {"slug": "gift-cards", "language": "en", "title": "Gift cards",
           "body_md": "# Gift cards\nThey **never** expire. <script>alert(1)</script>\n"
                      "[terms](https://shop.example/terms) [x](javascript:alert(1))",
           "tags": ["gift card"], "skills": ["orders"], "categories": ["all"]}


async def test_agent_may_search_and_get_suggestions_but_not_manage_or_see_reports(
        client: TestClient) -> None:
    csrf = await login(client, "agent1")
    search = await client.get("/api/kb/search", params={"q": "快递破损怎么退款"})
    assert search.status == 200
    assert (await search.json())["articles"][0]["slug"] == "damaged-delivery"
    suggest = await client.post("/api/kb/suggest", json={"skill": "refunds"}, headers=csrf)
    assert suggest.status == 200
    for method, path in (("GET", "/api/kpis"), ("GET", "/api/kpis.csv"), ("GET", "/api/kb/articles"),
                         ("POST", "/api/kb/articles"), ("PUT", "/api/kb/articles/1"),
                         ("POST", "/api/kb/articles/1/status"), ("GET", "/api/kb/articles/1/versions"),
                         ("GET", "/api/kb/suggestions/stats"), ("POST", "/api/staffing"),
                         ("GET", "/api/staffing/history"), ("POST", "/api/kb/preview")):
        response = await client.request(method, path, json=ARTICLE if method != "GET" else None,
                                        headers=csrf)
        assert response.status == 403, (method, path)
        assert (await response.json())["error_id"] == "forbidden"
    for page in ("/kb", "/reports"):
        assert (await client.get(page, allow_redirects=False)).status == 403


async def test_without_a_session_everything_is_refused(client: TestClient) -> None:
    assert (await client.get("/api/kb/search", params={"q": "refund"})).status == 401
    assert (await client.get("/api/kpis")).status == 401
    page = await client.get("/kb", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/login"


async def test_supervisor_creates_edits_publishes_with_version_history(client: TestClient) -> None:
    csrf = await login(client, "sup")
    created = await client.post("/api/kb/articles", json=ARTICLE, headers=csrf)
    assert created.status == 201
    article = await created.json()
    assert (article["status"], article["version"]) == ("draft", 1)
    duplicate = await client.post("/api/kb/articles", json=ARTICLE, headers=csrf)
    assert duplicate.status == 409 and (await duplicate.json())["error_id"] == "slug_taken"
    bad = await client.post("/api/kb/articles", json={**ARTICLE, "slug": "Bad Slug!"}, headers=csrf)
    assert bad.status == 400 and "slug" in (await bad.json())["message"]
    edited = await client.put(f"/api/kb/articles/{article['id']}", headers=csrf,
                              json={**ARTICLE, "title": "Gift cards and vouchers", "expected_version": 1})
    assert (await edited.json())["version"] == 2
    stale = await client.put(f"/api/kb/articles/{article['id']}", headers=csrf,
                             json={**ARTICLE, "expected_version": 1})
    assert stale.status == 409 and (await stale.json())["error_id"] == "version_conflict"
    assert (await (await client.get("/api/kb/search", params={"q": "vouchers"})).json())["articles"] == []
    published = await client.post(f"/api/kb/articles/{article['id']}/status", json={"status": "published"},
                                  headers=csrf)
    assert (await published.json())["status"] == "published"
    found = await (await client.get("/api/kb/search", params={"q": "vouchers"})).json()
    assert found["articles"][0]["id"] == article["id"]
    versions = (await (await client.get(f"/api/kb/articles/{article['id']}/versions")).json())["versions"]
    assert [(v["version"], v["title"], v["status"]) for v in versions] == [
        (3, "Gift cards and vouchers", "published"), (2, "Gift cards and vouchers", "draft"),
        (1, "Gift cards", "draft")]
    assert versions[0]["edited_by"] == "sup"
    assert (await client.get("/kb")).status == 200
    assert (await client.get("/reports")).status == 200


async def test_article_html_is_escaped_and_links_are_http_only(client: TestClient) -> None:
    csrf = await login(client, "sup")
    article = await (await client.post("/api/kb/articles", json=ARTICLE, headers=csrf)).json()
    shown = await (await client.get(f"/api/kb/articles/{article['id']}")).json()
    assert "<script>" not in shown["html"] and "&lt;script&gt;" in shown["html"]
    assert "javascript:" not in shown["html"]
    assert '<a href="https://shop.example/terms" rel="noopener noreferrer nofollow">terms</a>' in shown["html"]
    assert "<strong>never</strong>" in shown["html"]


async def test_agents_cannot_open_drafts(client: TestClient) -> None:
    sup = await login(client, "sup")
    article = await (await client.post("/api/kb/articles", json=ARTICLE, headers=sup)).json()
    await client.post("/logout", headers=sup)
    agent = await login(client, "agent1")
    assert (await client.get(f"/api/kb/articles/{article['id']}")).status == 404
    opened = await client.post(f"/api/kb/articles/{article['id']}/views", json={}, headers=agent)
    assert opened.status == 404


async def test_suggestions_for_a_pop_are_recorded_and_opens_give_open_rates(
        client: TestClient, pool: asyncpg.Pool) -> None:
    call_id = await pool.fetchval(
        "INSERT INTO calls (linkedid, state, arrived_at, agent_id) VALUES ('1700.1', 'talking', now(),"
        " (SELECT id FROM agents WHERE login = 'agent1')) RETURNING id")
    delivered = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    pop = {"call_id": call_id, "skill": "delivery",
           "ivr": {"path": ["lang_zh", "main_menu", "damaged_delivery"], "order_number": "12345678"},
           "customer": {"tier": "standard", "language": "zh"},
           "orders": [{"status": "delivered", "shipments": [{"status": "delivered",
                                                              "delivered_at": delivered}]}]}
    agent = await login(client, "agent1")
    result = await (await client.post("/api/kb/suggest", json=pop, headers=agent)).json()
    assert result["articles"][0]["slug"] == "damaged-delivery"
    assert all(a["language"] == "zh-CN" for a in result["articles"])
    assert "IVR: damaged_delivery" in result["reasons"] and "delivered 2 days ago" in result["reasons"]
    assert result["recorded"] == len(result["articles"]) >= 2
    first, second = result["articles"][0]["id"], result["articles"][1]["id"]
    opened = await client.post(f"/api/kb/articles/{first}/views",
                               json={"call_id": call_id, "source": "suggestion"}, headers=agent)
    assert opened.status == 200 and "<h2>" not in (await opened.json())["title"]
    # a search view on another call is not an open of this suggestion
    await client.post(f"/api/kb/articles/{second}/views", json={"source": "search"}, headers=agent)
    assert await pool.fetchval("SELECT count(*) FROM article_views") == 2
    await client.post("/logout", headers=agent)
    await login(client, "sup")
    stats = {a["article_id"]: a for a in
             (await (await client.get("/api/kb/suggestions/stats")).json())["articles"]}
    assert (stats[first]["suggested"], stats[first]["opened"], stats[first]["open_rate"]) == (1, 1, 1.0)
    assert (stats[second]["opened"], stats[second]["open_rate"]) == (0, 0.0)


async def test_suggest_survives_malformed_pops(client: TestClient) -> None:
    csrf = await login(client, "agent1")
    for pop in ({}, {"ivr": "x", "orders": "y", "customer": 3, "skill": 5},
                {"orders": [{"shipments": [{"delivered_at": "not a date"}]}], "call_id": "abc"}):
        response = await client.post("/api/kb/suggest", json=pop, headers=csrf)
        assert response.status == 200, pop
    ok = await client.post("/api/kb/suggest", json={"ivr": {"path": [{"node": "refunds"}]}}, headers=csrf)
    body = await ok.json()
    assert body["articles"][0]["slug"] == "refund-timelines" and body["recorded"] == 0


async def test_panel_strings_follow_the_users_language(client: TestClient) -> None:
    await login(client, "agent1")
    body = await (await client.get("/api/kb/i18n")).json()
    assert body["language"] == "zh-CN" and body["strings"]["kb.panel.title"] == "知识库"


async def test_a_pop_may_name_its_call_by_linkedid(client: TestClient, pool: asyncpg.Pool) -> None:
    call_id = await pool.fetchval(
        "INSERT INTO calls (linkedid, state, arrived_at, offers) VALUES ('1700.77', 'offered', now(),"
        " '[{\"dial_string\": \"PJSIP/1001\", \"result\": \"ringing\"}]') RETURNING id")  # ringing agent1
    csrf = await login(client, "agent1")
    result = await (await client.post("/api/kb/suggest", headers=csrf,
                                      json={"call_id": "1700.77", "skill": "refunds"})).json()
    assert result["call_id"] == call_id and result["recorded"] >= 1
    first = result["articles"][0]["id"]
    await client.post(f"/api/kb/articles/{first}/views", json={"call_id": "1700.77",
                                                              "source": "suggestion"}, headers=csrf)
    assert await pool.fetchval("SELECT call_id FROM article_views") == call_id
    unknown = await (await client.post("/api/kb/suggest", headers=csrf,
                                       json={"call_id": "no-such-call", "skill": "refunds"})).json()
    assert unknown["call_id"] is None and unknown["recorded"] == 0 and unknown["articles"]
