"""The call bar's Consult in a real browser (Debian Chromium) against the demo wiring (PBX
simulator, IVR, routing, database): on an answered call the agent opens the consult picker from
the keyboard (labelled fields, Escape closes it), asks for a colleague, whose phone the
simulator's attended transfer rings (Complete and Conference wait, disabled with a hint saying
why) and who answers; the bar then offers Complete / Conference / Back to the caller, and Leave
once in a three-way; the agent leaves, the caller and the
colleague talk on. What the page sends is checked too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.async_api import Request

from callcenter.simulator import PbxSimulator
from tests.control.console_browser import agent_console, attribute, text
from tests.helpers.polling import wait_until


async def test_agent_consults_a_colleague_then_conferences_and_leaves_from_the_call_bar(
        db_url: str, tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []

    def control_request(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/control"):
            sent.append(json.loads(request.post_data or "{}"))

    async with agent_console(db_url, tmp_path, "console-transfer") as console:
        page, errors, server = console.page, console.errors, console.demo.server
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
        # her phone rings (it answers after 3 simulated seconds): Complete and Conference wait,
        # saying why; Back to the caller may go
        ringing = await page.evaluate(RINGING_BAR)
        assert ringing == {"status": "Calling maria: their phone rings, the caller is on hold",
                           "complete": [True, "consult-ringing-hint"],
                           "conference": [True, "consult-ringing-hint"], "cancel": [False, None],
                           "hint": "Complete transfer and Conference wait until maria answers; "
                                   "Back to the caller stops the ringing"}, ringing
        await wait_until(lambda: _colleague_bridged(console.demo.simulator), lambda v: v, "maria answered",
                         timeout_s=60)
        await wait_until(lambda: page.locator("#btn-consult-complete").is_enabled(), lambda v: v,
                         "the call bar hears she answered")
        assert await text(page, "#consult-status") == "Consulting maria: the caller is on hold"
        assert await page.locator("#consult-ringing-hint").count() == 0
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
        await wait_until(lambda: _bridged_phones(console.demo.simulator), lambda v: v == ["PJSIP/1002"],
                         "sam's leg gone, maria with the caller")
    assert [b["action"] for b in sent] == ["consult", "conference", "complete"]
    assert sent[0] == {"action": "consult", "agent": "maria"}


# the call bar in one look (no answer can slip in between two reads)
RINGING_BAR = """() => {
  const button = (id) => { const b = document.getElementById(id);
    return [b.disabled, b.getAttribute("aria-describedby")]; };
  return { status: document.getElementById("consult-status").textContent,
    complete: button("btn-consult-complete"), conference: button("btn-consult-conference"),
    cancel: button("btn-consult-cancel"),
    hint: document.getElementById("consult-ringing-hint")?.textContent ?? null };
}"""


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
