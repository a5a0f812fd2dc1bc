"""The call bar's actions in a real browser (Debian Chromium) against the demo wiring (PBX
simulator, IVR, routing, database): on an answered call the agent holds (the button turns to
Resume, pressed, and the hold time shows), resumes, mutes, and hangs up from the console."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

from callcenter.agents.model import AgentProfile
from callcenter.demo.data import DemoData, generate, phone_for
from callcenter.demo.run import running_demo
from callcenter.demo.setup import MENU_AT_S
from callcenter.settings import DatabaseSettings, HttpSettings, Secret, Settings
from callcenter.simulator import AgentScript, Arrival, Behaviour, CallerScript, Press, Scenario
from tests.helpers.chromium import chromium
from tests.helpers.polling import wait_until

REPO = Path(__file__).resolve().parents[2]


async def attribute(page: Page, selector: str, name: str) -> str:
    return (await page.get_attribute(selector, name) or "") if await page.locator(selector).count() else ""


async def text(page: Page, selector: str) -> str:
    return (await page.text_content(selector) or "") if await page.locator(selector).count() else ""


async def test_agent_holds_resumes_mutes_and_hangs_up_from_the_call_bar(db_url: str, tmp_path: Path) -> None:
    data = generate()
    index = next(i for i, c in enumerate(data.customers, 1) if c[5] == "en" and c[4] == "standard")

    def scenario(_: DemoData, voices: dict[str, Path], agents: list[AgentProfile]) -> Scenario:
        at = MENU_AT_S["en"]
        caller = CallerScript(number=phone_for(index), name="Caller", language="en", arrival=Arrival(at_s=(16.0,)),
                              behaviour=Behaviour(presses=(Press(at, "2"), Press(at + 3.0, "2")), patience_s=600))
        phones = tuple(AgentScript(extension=a.dial_string.split("/")[-1],
                                   behaviour=Behaviour(answer_after_s=3.0, hangup_after_s=600.0))
                       for a in agents)
        return Scenario((caller,), phones, "console-control")

    settings = Settings(state_dir=tmp_path / "state", config_dir=REPO / "config",
                        database=DatabaseSettings(url=Secret(db_url)), http=HttpSettings(port=0))
    async with running_demo(settings, speed=2.0, scenario=scenario) as demo:
        server = demo.server
        for status in server.agents.statuses():  # only the agent in the browser takes calls
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
            assert await page.locator("#call-actions").is_hidden()
            await page.click("#btn-ready")
            await wait_until(lambda: page.get_attribute("#agent-state", "data-state"), lambda v: v == "talking",
                             "the call answered", timeout_s=90)
            await wait_until(lambda: attribute(page, "#btn-hold", "aria-pressed"), lambda v: v == "false",
                             "the hold button")
            assert await page.get_attribute("#call-actions", "aria-label") == "Call actions"

            await page.click("#btn-hold")
            await wait_until(lambda: attribute(page, "#btn-hold", "aria-pressed"), lambda v: v == "true",
                             "held")
            assert await text(page, "#btn-hold") == "Resume"
            await wait_until(lambda: text(page, "#hold-time"), lambda v: v.startswith("On hold"),
                             "the hold time", timeout_s=10)
            await page.focus("#btn-hold")
            await page.keyboard.press("Enter")  # keyboard works as well as the mouse
            await wait_until(lambda: attribute(page, "#btn-hold", "aria-pressed"), lambda v: v == "false",
                             "resumed")
            await page.click("#btn-mute")
            await wait_until(lambda: attribute(page, "#btn-mute", "aria-pressed"), lambda v: v == "true",
                             "muted")
            assert await text(page, "#btn-mute") == "Unmute"

            await page.click("#btn-hangup")
            await wait_until(lambda: page.get_attribute("#agent-state", "data-state"), lambda v: v == "wrap_up",
                             "wrap-up after the agent hung up", timeout_s=30)
            assert await page.locator("#call-actions").is_hidden()
            assert not errors, errors
        await server.recorder.flush()
        row = await server.database.pool.fetchrow(
            "SELECT hangup_by, hold_count, hold_s FROM calls WHERE caller_number = $1", phone_for(index))
    assert row is not None and row["hold_count"] == 1 and row["hold_s"] > 0, row and dict(row)
