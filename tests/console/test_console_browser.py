"""The agent console in a real browser (Debian Chromium) against the demo wiring (PBX simulator,
IVR, routing, database): the agent goes ready, the pop shows the caller and their order while
the phone still rings, the agent opens a refund ticket, wraps up with a disposition; a request
without the CSRF token is refused."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
from playwright.async_api import Page

from callcenter.agents.model import AgentProfile
from callcenter.demo.data import DemoData, generate, phone_for
from callcenter.demo.run import running_demo
from callcenter.demo.setup import MENU_AT_S
from callcenter.settings import DatabaseSettings, HttpSettings, Secret, Settings
from callcenter.simulator import AgentScript, Arrival, Behaviour, CallerScript, Press, Scenario
from tests.control.console_browser import console_page
from tests.helpers.chromium import chromium
from tests.helpers.polling import wait_until

REPO = Path(__file__).resolve().parents[2]


async def text(page: Page, selector: str) -> str:
    return (await page.text_content(selector) or "") if await page.locator(selector).count() else ""


async def test_agent_gets_the_pop_before_answering_opens_a_refund_ticket_and_wraps_up(
        db_url: str, tmp_path: Path) -> None:
    data = generate()
    index, customer = next((i, c) for i, c in enumerate(data.customers, 1) if c[5] == "en" and c[4] == "standard"
                           and any(o[2] == c[0] for o in data.orders))
    numbers = {o[1] for o in data.orders if o[2] == customer[0]}
    name = customer[2]

    def scenario(_: DemoData, voices: dict[str, Path], agents: list[AgentProfile]) -> Scenario:
        at = MENU_AT_S["en"]
        caller = CallerScript(number=phone_for(index), name=name, language="en", arrival=Arrival(at_s=(16.0,)),
                              behaviour=Behaviour(presses=(Press(at, "2"), Press(at + 3.0, "2")),
                                                  patience_s=600))
        phones = tuple(AgentScript(extension=a.dial_string.split("/")[-1],
                                   behaviour=Behaviour(answer_after_s=12.0, hangup_after_s=30.0))
                       for a in agents)
        return Scenario((caller,), phones, "console")

    settings = Settings(state_dir=tmp_path / "state", config_dir=REPO / "config",
                        database=DatabaseSettings(url=Secret(db_url)), http=HttpSettings(port=0))
    async with running_demo(settings, speed=2.0, scenario=scenario) as demo:
        server = demo.server
        for status in server.agents.statuses():  # only the agent in the browser takes calls
            server.agents.logout(status.agent_id)
        base = f"http://127.0.0.1:{server.http_port}"
        async with chromium() as browser:
            page, errors = await console_page(browser, base)
            await page.click("#btn-ready")
            await wait_until(lambda: page.get_attribute("#agent-state", "data-state"), lambda v: v == "ready",
                             "the agent ready")

            # the pop, while the phone rings
            shown = await wait_until(lambda: text(page, "#pop-customer-name"), lambda v: v == name,
                                     "the caller's name", timeout_s=60)
            assert shown == name
            assert await page.get_attribute("#agent-state", "data-state") == "offered"
            assert "Ringing" in await text(page, "#pop-phase")
            orders = await page.locator(".order").evaluate_all("nodes => nodes.map(n => n.dataset.order)")
            assert orders and set(orders) <= numbers and orders[0] in numbers
            ivr = await text(page, ".pop-ivr")
            assert "Returns menu" in ivr and "Main menu" in ivr  # people's words, not the step ids
            assert "returns_menu" not in ivr and "main_menu" not in ivr
            assert "null" not in await text(page, "#console")
            # the knowledge-base panel beside the pop suggests articles for this call
            await wait_until(lambda: page.locator("#kb-panel .kb-open").count(), lambda v: v >= 1,
                             "knowledge-base suggestions")

            # answered: the timer runs
            await wait_until(lambda: page.get_attribute("#agent-state", "data-state"), lambda v: v == "talking",
                             "the call answered", timeout_s=30)
            await wait_until(lambda: text(page, "#call-timer"), lambda v: ":" in v, "the call timer")

            # a forged request (no CSRF token) is refused and creates nothing
            forged = await page.request.post(base + "/api/tickets", data=json.dumps(
                {"customer_id": 1, "kind": "refund", "subject": "forged"}),
                headers={"Content-Type": "application/json"})
            assert forged.status == 403

            await page.select_option("#ticket-form select[name=kind]", "refund")
            await page.fill("#ticket-form input[name=subject]", "Blender arrived broken")
            await page.fill("#ticket-form textarea[name=notes]", "Customer wants the money back")
            await page.click("#ticket-form button[type=submit]")
            await wait_until(lambda: text(page, "#console-message"), lambda v: "Ticket created" in v, "the ticket")

            # the call ends: wrap-up with a disposition, then ready again
            await wait_until(lambda: page.locator("#disposition").count(), lambda v: v == 1, "wrap-up", timeout_s=60)
            await page.select_option("#disposition", "ticket_opened")
            await page.click("#btn-done")
            await wait_until(lambda: page.get_attribute("#agent-state", "data-state"), lambda v: v == "ready",
                             "ready again")
            assert not errors, errors
        await server.recorder.flush()
    conn = await asyncpg.connect(db_url)
    try:
        ticket = await conn.fetchrow("SELECT t.kind, t.subject, t.call_id, t.reply_due_at - t.created_at AS due,"
                                     " c.disposition, c.caller_number FROM tickets t JOIN calls c ON c.id = t.call_id"
                                     " WHERE t.subject = 'Blender arrived broken'")
        forged = await conn.fetchval("SELECT count(*) FROM tickets WHERE subject = 'forged'")
        audit = {r["action"] for r in await conn.fetch("SELECT action FROM audit_log WHERE actor = 'agent1'")}
    finally:
        await conn.close()
    assert ticket is not None and ticket["kind"] == "refund" and ticket["caller_number"] == phone_for(index)
    assert ticket["disposition"] == "ticket_opened" and ticket["due"].days == 3
    assert forged == 0
    assert {"ticket.create", "call.disposition"} <= audit
