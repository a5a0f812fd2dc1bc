"""The transfer picker in a real browser (Debian Chromium) against the demo wiring (PBX
simulator, IVR, routing, database): besides the skill queues it lists the colleagues logged in
(name, state, skills; only the ready ones can be chosen), refreshed while it is open, and the
outside directory. A colleague who becomes ready while the picker is open can be chosen; the
transfer goes to them from the keyboard, and the call's legs name both agents."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.control.console_browser import agent_console, attribute
from tests.helpers.polling import wait_until


def equals(expected: object) -> Callable[[object], bool]:
    return lambda value: value == expected


def listed(found: dict[str, Any] | None) -> bool:
    return found is not None


def selectable(found: dict[str, Any] | None) -> bool:
    return found is not None and not found["disabled"]


async def option(page: Any, value: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = await page.evaluate(
        "v => { const o = [...document.querySelectorAll('#transfer-skill option')]"
        ".find(x => x.value === v); return o ? {text: o.textContent, disabled: o.disabled,"
        " group: o.parentElement.label} : null; }", value)
    return found


async def test_the_picker_lists_colleagues_live_and_transfers_to_one_from_the_keyboard(
        db_url: str, tmp_path: Path) -> None:
    async with agent_console(db_url, tmp_path, "console-transfer", keep=("sam", "maria")) as console:
        page, errors, server = console.page, console.errors, console.demo.server
        server.agents.pause("maria", "break")  # sam takes the call; maria waits, paused
        await page.click("#btn-ready")
        await wait_until(lambda: attribute(page, "#btn-transfer", "aria-expanded"), equals("false"),
                         "the transfer button", timeout_s=90)
        await page.focus("#btn-transfer")
        await page.keyboard.press("Enter")
        assert await page.evaluate("document.activeElement.id") == "transfer-skill"
        maria = await wait_until(lambda: option(page, "agent:maria"), listed,
                                 "maria listed")
        assert maria == {"text": "Maria Garcia — Paused — Delivery, General, Orders, Returns",
                         "disabled": True,
                         "group": "Colleagues (only those ready can take it)"}, maria
        assert await option(page, "agent:sam") is None  # not oneself
        warehouse = await option(page, "number:warehouse")
        assert warehouse is not None and warehouse["text"] == "Warehouse (+********0100)"
        assert (await option(page, "refunds") or {}).get("group") == "Queues"
        await page.select_option("#transfer-skill", "refunds")
        server.agents.ready("maria")  # the picker follows: maria can now be chosen
        await wait_until(lambda: option(page, "agent:maria"), selectable,
                         "maria ready in the picker", timeout_s=15)
        assert await page.input_value("#transfer-skill") == "refunds"  # the choice is kept
        assert await page.evaluate("document.activeElement.id") == "transfer-skill"
        await page.select_option("#transfer-skill", "agent:maria")
        await page.focus("#transfer-note")
        await page.keyboard.type("order question")
        await page.keyboard.press("Tab")  # to Transfer
        assert await page.evaluate("document.activeElement.id") == "btn-transfer-send"
        await page.keyboard.press("Enter")
        await wait_until(lambda: page.get_attribute("#agent-state", "data-state"), equals("wrap_up"),
                         "wrap-up after the transfer", timeout_s=30)
        assert not errors, errors
        await wait_until(lambda: _second_agent(server, console.number), equals("maria"),
                         "maria talks to the caller", timeout_s=60)


async def _second_agent(server: Any, number: str) -> str | None:
    await server.recorder.flush()
    login: str | None = await server.database.pool.fetchval(
        "SELECT a.login FROM call_legs l JOIN calls c ON c.id = l.call_id JOIN agents a"
        " ON a.id = l.agent_id WHERE c.caller_number = $1 AND l.talk_started_at IS NOT NULL"
        " ORDER BY l.talk_started_at DESC LIMIT 1", number)
    return login
