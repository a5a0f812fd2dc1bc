"""The call bar's actions in a real browser (Debian Chromium) against the demo wiring (PBX
simulator, IVR, routing, database): on an answered call the agent holds (the button turns to
Resume, pressed, and the hold time shows), resumes, mutes, and hangs up from the console."""

from __future__ import annotations

from pathlib import Path

from tests.control.console_browser import agent_console, attribute, text
from tests.helpers.polling import wait_until


async def test_agent_holds_resumes_mutes_and_hangs_up_from_the_call_bar(db_url: str, tmp_path: Path) -> None:
    async with agent_console(db_url, tmp_path, "console-control") as console:
        page, errors, server = console.page, console.errors, console.demo.server
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
            "SELECT hangup_by, hold_count, hold_s FROM calls WHERE caller_number = $1", console.number)
    assert row is not None and row["hold_count"] == 1 and row["hold_s"] > 0, row and dict(row)
