"""The knowledge-base panel, the /kb page and the /reports page in a real browser (Chromium).

The console page is not part of this feature, so the panel runs on a minimal page that has what
the console promises: <section id="kb-panel"> and the module script; the test dispatches the
console's "callcenter:pop" event."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from callcenter.kb.store import seed_articles
from callcenter.metrics import Metrics
from callcenter.store.users import UserStore
from callcenter.web import api_kb, api_kpis, kb_page, reports_page
from callcenter.web.app import Health, make_app
from tests.helpers.chromium import chromium, log_in, require_chromium

pytestmark = pytest.mark.integration
SEED = Path(__file__).resolve().parents[2] / "config" / "kb"


async def _db_ok() -> tuple[bool, str]:
    return True, "up"


async def console_stub(request: web.Request) -> web.Response:
    return web.Response(content_type="text/html", text="""<!doctype html><html><head>
<meta charset="utf-8"><link rel="stylesheet" href="/static/app.css">
<script type="module" src="/static/kb-panel.js"></script></head>
<body><main><section id="kb-panel"></section></main></body></html>""")


@pytest.fixture
async def server(pool: asyncpg.Pool) -> AsyncIterator[tuple[TestServer, int]]:
    require_chromium()
    await pool.execute("TRUNCATE users, sessions, kb_articles, calls RESTART IDENTITY CASCADE")
    await seed_articles(pool, SEED)
    agent = await pool.fetchval(
        "INSERT INTO agents (login, display_name, dial_string) VALUES ('agent1', 'Agent 1', 'PJSIP/1001')"
        " ON CONFLICT (login) DO UPDATE SET display_name = EXCLUDED.display_name RETURNING id")
    users = UserStore(pool)
    await users.create_user("sup", "Sam Supervisor", "supervisor", "demo")
    await users.create_user("agent1", "Agent One", "agent", "demo", agent_id=agent, language="zh-CN")
    call_id = await pool.fetchval(
        "INSERT INTO calls (linkedid, state, arrived_at, agent_id) VALUES ('1800.1', 'talking', now(), $1)"
        " RETURNING id", agent)
    app = make_app(Health(ami=lambda: (True, "up"), database=_db_ok), Metrics(), pool,
                   features=[api_kb.register, kb_page.register, api_kpis.register,
                             reports_page.register])
    app.router.add_get("/console-stub", console_stub)
    test_server = TestServer(app)
    await test_server.start_server()
    try:
        yield test_server, call_id
    finally:
        await test_server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def logged_in_page(browser: Browser, base: str, login: str) -> Page:
    page = await browser.new_page()
    await log_in(page, base, login, settle="load")
    return page


async def test_panel_suggests_for_the_pop_records_the_open_and_searches(
        server: tuple[TestServer, int], browser: Browser, pool: asyncpg.Pool) -> None:
    test_server, call_id = server
    base = str(test_server.make_url("")).rstrip("/")
    page = await logged_in_page(browser, base, "agent1")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(base + "/console-stub")
    await page.wait_for_selector("#kb-panel[data-ready=true]")
    pop = {"call_id": call_id, "skill": "delivery",
           "ivr": {"path": ["damaged_delivery"]}, "customer": {"language": "zh"},
           "orders": [{"status": "delivered", "shipments": [
               {"status": "delivered", "delivered_at": (datetime.now(UTC) - timedelta(days=2)).isoformat()}]}]}
    await page.evaluate(
        "pop => document.dispatchEvent(new CustomEvent('callcenter:pop', {detail: pop}))", pop)
    first = page.locator(".kb-open").first
    await first.wait_for()
    assert await first.text_content() == "快递破损、商品损坏的处理"
    assert "delivered 2 days ago" in (await page.text_content(".kb-reasons") or "")
    await first.click()
    await page.wait_for_selector(".kb-article:not([hidden]) .kb-body strong")
    row = await pool.fetchrow("SELECT call_id, source FROM article_views")
    assert (row["call_id"], row["source"]) == (call_id, "suggestion")
    await page.click(".kb-back")
    await page.fill(".kb-q", "退货运费谁出")
    await page.press(".kb-q", "Enter")
    await page.wait_for_selector(".kb-list-heading:has-text('退货运费谁出')")
    assert await page.locator(".kb-open").first.text_content() == "退货运费由谁承担"
    await page.evaluate(
        "id => document.dispatchEvent(new CustomEvent('callcenter:call-ended', {detail: {call_id: id}}))",
        call_id)
    await page.wait_for_selector("#kb-panel.kb-ended")
    assert errors == []


async def test_supervisor_edits_an_article_and_sees_reports_and_staffing(
        server: tuple[TestServer, int], browser: Browser, pool: asyncpg.Pool) -> None:
    test_server, _ = server
    base = str(test_server.make_url("")).rstrip("/")
    page = await logged_in_page(browser, base, "sup")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(base + "/kb")
    await page.wait_for_selector("#kb-admin[data-ready=true]")
    assert await page.locator(".kb-table tbody tr").count() == 26
    await page.locator("tr:has-text('Gift') .kb-edit, tr:has-text('Who pays return shipping') .kb-edit").first.click()
    await page.wait_for_selector("#kb-history li")
    await page.fill("#kb-title", "Who pays return shipping (updated)")
    await page.fill("#kb-body", "Free for **faulty** items. <b>x</b>")
    await page.click("#kb-preview-button")
    await page.wait_for_selector("#kb-preview strong")
    assert await page.locator("#kb-preview b").count() == 0
    await page.click("#kb-save")
    await page.wait_for_selector("#kb-history li:nth-child(2)")
    assert await pool.fetchval("SELECT version FROM kb_articles WHERE language = 'en'"
                               " AND slug = 'return-shipping-cost'") == 2

    await page.goto(base + "/reports")
    await page.wait_for_selector("#r-output[data-ready=true]")
    # the call on the agent's line this hour: offered, not answered
    assert await page.locator("#r-output svg.r-chart").count() == 2
    assert await page.text_content(".r-total td[data-col=offered]") == "1"
    await page.fill("#s-intervals", "10:00, 120")
    await page.fill("#s-minutes", "30")
    await page.fill("#s-shrinkage", "")
    await page.click("#s-compute")
    await page.wait_for_selector("#s-output[data-ready=true] svg rect.r-bar")
    assert await page.text_content("#s-output td[data-col=agents]") == "16"
    assert errors == [], json.dumps(errors)
