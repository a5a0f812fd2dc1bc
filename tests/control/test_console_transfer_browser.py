"""The call bar's Transfer in a real browser (Debian Chromium) against the demo wiring (PBX
simulator, IVR, routing, database): on an answered call the agent opens the transfer form from
the keyboard, picks a queue, writes a note and sends it; the call leaves the agent (wrap-up, the
call bar hides) and its record holds the transfer with the note."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from callcenter.agents.model import AgentProfile
from callcenter.demo.data import DemoData, generate, phone_for
from callcenter.demo.run import running_demo
from callcenter.demo.setup import MENU_AT_S
from callcenter.settings import DatabaseSettings, HttpSettings, Secret, Settings
from callcenter.simulator import AgentScript, Arrival, Behaviour, CallerScript, Press, Scenario
from tests.control.test_console_control_browser import attribute
from tests.helpers.chromium import chromium
from tests.helpers.polling import wait_until

REPO = Path(__file__).resolve().parents[2]


def _scenario(index: int) -> Any:
    def scenario(_: DemoData, voices: dict[str, Path], agents: list[AgentProfile]) -> Scenario:
        at = MENU_AT_S["en"]
        caller = CallerScript(number=phone_for(index), name="Caller", language="en", arrival=Arrival(at_s=(16.0,)),
                              behaviour=Behaviour(presses=(Press(at, "2"), Press(at + 3.0, "2")), patience_s=600))
        phones = tuple(AgentScript(extension=a.dial_string.split("/")[-1],
                                   behaviour=Behaviour(answer_after_s=3.0, hangup_after_s=600.0))
                       for a in agents)
        return Scenario((caller,), phones, "console-transfer")
    return scenario


async def test_agent_transfers_the_call_to_a_queue_with_a_note_from_the_keyboard(
        db_url: str, tmp_path: Path) -> None:
    data = generate()
    index = next(i for i, c in enumerate(data.customers, 1) if c[5] == "en" and c[4] == "standard")
    settings = Settings(state_dir=tmp_path / "state", config_dir=REPO / "config",
                        database=DatabaseSettings(url=Secret(db_url)), http=HttpSettings(port=0))
    async with running_demo(settings, speed=2.0, scenario=_scenario(index)) as demo:
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
            await page.click("#btn-ready")
            await wait_until(lambda: attribute(page, "#btn-transfer", "aria-expanded"), lambda v: v == "false",
                             "the transfer button", timeout_s=90)
            await page.focus("#btn-transfer")
            await page.keyboard.press("Enter")
            await wait_until(lambda: attribute(page, "#btn-transfer", "aria-expanded"), lambda v: v == "true",
                             "the form open")
            assert await page.evaluate("document.activeElement.id") == "transfer-skill"
            assert await page.locator("label[for=transfer-note]").text_content() == "Note for the next agent"
            await page.keyboard.press("Escape")  # closes, focus back on the button
            await wait_until(lambda: page.locator("#transfer-form").count(), lambda n: n == 0, "closed")
            await page.keyboard.press("Enter")
            await page.select_option("#transfer-skill", "complaints")
            await page.fill("#transfer-note", "angry about the delay")
            await page.click("#btn-transfer-send")
            await wait_until(lambda: page.get_attribute("#agent-state", "data-state"), lambda v: v == "wrap_up",
                             "wrap-up after the transfer", timeout_s=30)
            assert await page.locator("#call-actions").is_hidden()
            assert not errors, errors
        await server.recorder.flush()
        pool = server.database.pool
        row = await pool.fetchrow("SELECT id, transfers FROM calls WHERE caller_number = $1", phone_for(index))
        leg = await pool.fetchrow("SELECT ended_how, transferred_to, note FROM call_legs"
                                  " WHERE call_id = $1 AND ended_how IS NOT NULL", row["id"])
    assert row["transfers"] == 1, dict(row)
    assert dict(leg) == {"ended_how": "transfer", "transferred_to": "complaints",
                         "note": "angry about the delay"}
