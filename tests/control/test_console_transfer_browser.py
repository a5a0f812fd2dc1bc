"""The call bar's Transfer in a real browser (Debian Chromium) against the demo wiring (PBX
simulator, IVR, routing, database): on an answered call the agent opens the transfer form from
the keyboard, picks a queue, writes a note and sends it; the call leaves the agent (wrap-up, the
call bar hides) and its record holds the transfer with the note."""

from __future__ import annotations

from pathlib import Path

from tests.control.console_browser import agent_console, attribute
from tests.helpers.polling import wait_until


async def test_agent_transfers_the_call_to_a_queue_with_a_note_from_the_keyboard(
        db_url: str, tmp_path: Path) -> None:
    async with agent_console(db_url, tmp_path, "console-transfer") as console:
        page, errors, server = console.page, console.errors, console.demo.server
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
        row = await pool.fetchrow("SELECT id, transfers FROM calls WHERE caller_number = $1", console.number)
        leg = await pool.fetchrow("SELECT ended_how, transferred_to, note FROM call_legs"
                                  " WHERE call_id = $1 AND ended_how IS NOT NULL", row["id"])
    assert row["transfers"] == 1, dict(row)
    assert dict(leg) == {"ended_how": "transfer", "transferred_to": "complaints",
                         "note": "angry about the delay"}
