"""The browser the page tests drive: Debian's Chromium, headless, launched one way everywhere.

A missing Chromium fails the tests (they are part of the product's checks); scripts/bootstrap
installs it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

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
