"""The browser the page tests drive: Debian's Chromium, headless, launched one way everywhere.

A missing Chromium fails the tests (they are part of the product's checks); scripts/bootstrap
installs it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: scripts/bootstrap installs Debian's chromium")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium (a playwright ``Browser``), closed on leaving."""
    require_chromium()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def log_in(page: Page, base: str, user: str, landing: str | None = None,
                 settle: Literal["load", "networkidle"] = "networkidle") -> None:
    """Sign ``user`` in through the login form (every demo user's password is ``demo``); then
    wait for the ``landing`` path when given, else for the page to ``settle``."""
    await page.goto(base + "/login")
    await page.fill("input[name=login]", user)
    await page.fill("input[name=password]", "demo")
    await page.click("button[type=submit]")
    if landing is not None:
        await page.wait_for_url(base + landing)
    else:
        await page.wait_for_load_state(settle)


async def signed_in(browser: Browser, base: str, user: str, landing: str,
                    errors: list[object] | None = None) -> tuple[Page, list[object]]:
    """A new page with ``user`` signed in and on ``landing``, and the list its script errors
    go to (``errors`` when given: pages of one test may share it)."""
    page = await browser.new_page()
    caught: list[object] = [] if errors is None else errors
    page.on("pageerror", lambda exc: caught.append(exc))
    await log_in(page, base, user, landing)
    return page, caught
