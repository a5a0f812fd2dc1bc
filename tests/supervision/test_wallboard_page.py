"""The wallboard's supervision controls in Chromium against the running demo: setting an
agent's state through the form, the supervisor's phone, the clear errors of a listen button
pressed without a phone and with a phone the PBX cannot ring, then listening in through the
demo's desk phone and stopping; nothing stays stuck."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page
from playwright.async_api import Error as PlaywrightError

from tests.browser.conftest import demo_base
from tests.helpers.chromium import chromium, log_in

__all__ = ["demo_base"]
pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def message(page: Page, contains: str) -> str:
    await page.wait_for_function(
        "t => (document.getElementById('spy-message')?.textContent || '').includes(t)", arg=contains,
        timeout=45_000)
    return str(await page.text_content("#spy-message"))


async def agent(page: Page, login: str) -> dict[str, Any]:
    listing = await (await page.request.get("/api/agents")).json()
    return next(a for a in listing["agents"] if a["agent_id"] == login)


@pytest.mark.asyncio(loop_scope="module")
async def test_wallboard_sets_states_and_reports_monitoring_errors(browser: Browser, demo_base: str) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, base_url=demo_base)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        await log_in(page, demo_base, "supervisor")
        await page.goto(demo_base + "/supervisor")
        await page.wait_for_selector("#agents tbody tr")
        await page.wait_for_selector("#force-agent option[value=maria]", state="attached")
        await page.select_option("#force-agent", "maria")
        await page.select_option("#force-state", "paused")
        assert not await page.is_disabled("#force-reason")
        await page.select_option("#force-reason", "training")
        await page.click("#force-form button[type=submit]")
        await message(page, "Maria Garcia")
        maria = await agent(page, "maria")
        assert (maria["state"], maria["reason"]) == ("paused", "training") \
            or maria["after_call"] == "paused:training", maria

        # the demo's supervisor has a desk phone; without one, a clear error
        assert await page.input_value("#spy-phone") == "PJSIP/1099"
        await page.fill("#spy-phone", "")
        await page.click("#spy-phone-form button[type=submit]")
        await message(page, "Phone saved")
        button = page.locator("button[data-action=monitor][data-mode=listen]").first
        assert "Listen" in (await button.get_attribute("aria-label", timeout=90_000) or "")
        await button.click(timeout=90_000)
        assert "phone" in await message(page, "give your phone first")
        assert await page.get_attribute("#spy-message", "class") == "message bad"
        # a phone the PBX does not have: it "did not answer"
        await page.fill("#spy-phone", "PJSIP/1097")
        await page.click("#spy-phone-form button[type=submit]")
        await message(page, "Phone saved")
        await page.locator("button[data-action=monitor][data-mode=whisper]").first.click(timeout=90_000)
        await message(page, "did not answer")
        # the desk phone again: listening, shown on the wallboard, then stopped
        await page.fill("#spy-phone", "PJSIP/1099")
        await page.click("#spy-phone-form button[type=submit]")
        await message(page, "Phone saved")
        await page.locator("button[data-action=monitor][data-mode=listen]").first.click(timeout=90_000)
        await message(page, "Listen: connected")
        # the demo's calls last a few seconds of real time: the session may end with its call
        # before the stop button is pressed; either way it ends and the wallboard says so
        sessions = (await (await page.request.get("/api/supervision/sessions")).json())["sessions"]
        if sessions:
            [live] = sessions
            assert (live["supervisor"], live["mode"], live["state"]) == ("supervisor", "listen", "active")
            stop = page.locator("button[data-action=stop]").first
            try:
                await stop.click(timeout=5_000)
                await message(page, "Monitoring stopped")
            except PlaywrightError:
                pass  # the call (and the button) went first
        await page.wait_for_selector("#spy-none", timeout=30_000)
        assert (await (await page.request.get("/api/supervision/sessions")).json())["sessions"] == []
        assert errors == []
    finally:
        await context.close()
