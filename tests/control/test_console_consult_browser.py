"""The call bar's Consult in a real browser (Debian Chromium) against the demo wiring (PBX
simulator, IVR, routing, database): on an answered call the agent opens the consult picker from
the keyboard (labelled fields, Escape closes it), asks for a colleague, whose phone the
simulator's attended transfer rings and who answers; the bar then offers Complete / Conference /
Back to the caller, and Leave once in a three-way; the agent leaves, the caller and the
colleague talk on. What the page sends is checked too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.async_api import Request

from callcenter.demo.data import generate
from callcenter.demo.run import running_demo
from callcenter.settings import DatabaseSettings, HttpSettings, Secret, Settings
from callcenter.simulator import PbxSimulator
from tests.control.test_console_control_browser import attribute, text
from tests.control.test_console_transfer_browser import _scenario
from tests.helpers.chromium import chromium
from tests.helpers.polling import wait_until

REPO = Path(__file__).resolve().parents[2]


async def test_agent_consults_a_colleague_then_conferences_and_leaves_from_the_call_bar(
        db_url: str, tmp_path: Path) -> None:
    data = generate()
    index = next(i for i, c in enumerate(data.customers, 1) if c[5] == "en" and c[4] == "standard")
    settings = Settings(state_dir=tmp_path / "state", config_dir=REPO / "config",
                        database=DatabaseSettings(url=Secret(db_url)), http=HttpSettings(port=0))
    sent: list[dict[str, Any]] = []

    def control_request(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/control"):
            sent.append(json.loads(request.post_data or "{}"))

    async with running_demo(settings, speed=2.0, scenario=_scenario(index)) as demo:
        server = demo.server
        for status in server.agents.statuses():
            server.agents.logout(status.agent_id)
        base = f"http://127.0.0.1:{server.http_port}"
        async with chromium() as browser:
            page = await browser.new_page()
            errors: list[Any] = []
            page.on("pageerror", lambda exc: errors.append(exc))
            await page.goto(base + "/login")
            await page.fill("input[name=login]", "agent1")
            await page.fill("input[name=password]", "demo")
            await page.click("button[type=submit]")
            await page.wait_for_url(base + "/agent")
            await wait_until(lambda: page.get_attribute("#console", "data-connected"), lambda v: v == "true",
                             "the feed connected")
            await page.click("#btn-ready")
            await wait_until(lambda: attribute(page, "#btn-consult", "aria-expanded"), lambda v: v == "false",
                             "the consult button", timeout_s=90)
            server.agents.login("maria", ready=True)  # the colleague (no refunds: takes no call)
            page.on("request", control_request)
            await page.focus("#btn-consult")
            await page.keyboard.press("Enter")
            await wait_until(lambda: attribute(page, "#btn-consult", "aria-expanded"), lambda v: v == "true",
                             "the picker open")
            assert await page.evaluate("document.activeElement.id") == "consult-agent"
            assert await page.locator("label[for=consult-agent]").text_content() == "Colleague (login)"
            await page.keyboard.press("Escape")
            await wait_until(lambda: page.locator("#consult-form").count(), lambda n: n == 0, "closed")
            assert await page.evaluate("document.activeElement.id") == "btn-consult"
            await page.keyboard.press("Enter")
            await page.fill("#consult-agent", "maria")
            await page.keyboard.press("Enter")  # submits the picker
            await wait_until(lambda: text(page, "#consult-status"), lambda v: "maria" in v, "consulting")
            await wait_until(lambda: _colleague_bridged(demo.simulator), lambda v: v, "maria answered",
                             timeout_s=60)
            for button in ("#btn-consult-complete", "#btn-consult-conference", "#btn-consult-cancel"):
                assert await page.locator(button).is_visible(), button
            # the agent's channel talks to the colleague: no hold, transfer or hang-up meanwhile
            for button in ("#btn-hold", "#btn-transfer", "#btn-hangup"):
                assert await page.locator(button).is_disabled(), button
            assert await page.locator("#btn-mute").is_enabled()
            await page.click("#btn-consult-conference")
            await wait_until(lambda: page.locator("#btn-consult-leave").count(), lambda n: n == 1, "leave")
            assert "Three-way" in await text(page, "#consult-status")
            for button in ("#btn-hold", "#btn-transfer"):
                assert await page.locator(button).is_disabled(), button
            assert await page.locator("#btn-hangup").is_enabled()  # leaving the three-way
            await page.click("#btn-consult-leave")
            await wait_until(lambda: page.locator("#call-actions").is_hidden(), lambda v: v, "the bar hides")
            assert not errors, errors
            # the caller and maria talk on without agent1's phone (PJSIP/1001)
            await wait_until(lambda: _bridged_phones(demo.simulator), lambda v: v == ["PJSIP/1002"],
                             "sam's leg gone, maria with the caller")
    assert [b["action"] for b in sent] == ["consult", "conference", "complete"]
    assert sent[0] == {"action": "consult", "agent": "maria"}


def _colleague_bridged(simulator: PbxSimulator) -> bool:
    """maria's phone answered the consult (it is in a bridge)."""
    return any(m.name.startswith("PJSIP/1002-") for b in simulator.pbx.bridges.values() for m in b.members)


def _bridged_phones(simulator: PbxSimulator) -> list[str]:
    """The agents' phones sharing a bridge with a caller."""
    found: set[str] = set()
    for bridge in simulator.pbx.bridges.values():
        names = [m.name for m in bridge.members]
        if any("@" not in n and not n.startswith("PJSIP/100") for n in names):
            found |= {n.split("-")[0] for n in names if n.startswith("PJSIP/100")}
    return sorted(found)
