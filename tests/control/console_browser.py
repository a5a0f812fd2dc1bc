"""What the call bar's browser tests share: the demo wiring (PBX simulator, IVR, routing,
database) with one English caller who goes through the menus to an agent, and agent1's console
logged in in a real browser (Debian Chromium) with its feed connected."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page

from callcenter.agents.model import AgentProfile
from callcenter.demo.data import DemoData, generate, phone_for
from callcenter.demo.run import Demo, ScenarioFactory, running_demo
from callcenter.demo.setup import MENU_AT_S
from callcenter.settings import DatabaseSettings, HttpSettings, Secret, Settings
from callcenter.simulator import AgentScript, Arrival, Behaviour, CallerScript, Press, Scenario
from tests.helpers.chromium import chromium, signed_in
from tests.helpers.polling import wait_until

REPO = Path(__file__).resolve().parents[2]


async def attribute(page: Page, selector: str, name: str) -> str:
    return (await page.get_attribute(selector, name) or "") if await page.locator(selector).count() else ""


async def text(page: Page, selector: str) -> str:
    return (await page.text_content(selector) or "") if await page.locator(selector).count() else ""


def one_caller(index: int, name: str) -> ScenarioFactory:
    """Customer ``index`` calls at 16 s, presses 2 then 2 at the English menu and waits; every
    agent's phone answers after 3 s and keeps the call."""
    def scenario(_: DemoData, voices: dict[str, Path], agents: list[AgentProfile]) -> Scenario:
        at = MENU_AT_S["en"]
        caller = CallerScript(number=phone_for(index), name="Caller", language="en", arrival=Arrival(at_s=(16.0,)),
                              behaviour=Behaviour(presses=(Press(at, "2"), Press(at + 3.0, "2")), patience_s=600))
        phones = tuple(AgentScript(extension=a.dial_string.split("/")[-1],
                                   behaviour=Behaviour(answer_after_s=3.0, hangup_after_s=600.0))
                       for a in agents)
        return Scenario((caller,), phones, name)
    return scenario


@dataclass(frozen=True)
class Console:
    """agent1's console page, the page errors seen so far, the demo behind it and the caller's
    number."""

    demo: Demo
    page: Page
    errors: list[Any]
    number: str


async def console_page(browser: Browser, base: str, user: str = "agent1") -> tuple[Page, list[Any]]:
    """``user``'s console page, signed in, with its feed connected; and its script errors."""
    page, errors = await signed_in(browser, base, user, "/agent")
    await wait_until(lambda: page.get_attribute("#console", "data-connected"), lambda v: v == "true",
                     "the feed connected")
    return page, errors


@asynccontextmanager
async def agent_console(db_url: str, tmp_path: Path, scenario: str,
                        keep: Collection[str] = ()) -> AsyncIterator[Console]:
    """The demo with one caller (``scenario`` names its traffic), every agent logged out but
    those in ``keep``, and agent1 (sam) logged in on the console page with its feed connected,
    not yet ready."""
    data = generate()
    index = next(i for i, c in enumerate(data.customers, 1) if c[5] == "en" and c[4] == "standard")
    settings = Settings(state_dir=tmp_path / "state", config_dir=REPO / "config",
                        database=DatabaseSettings(url=Secret(db_url)), http=HttpSettings(port=0))
    async with running_demo(settings, speed=2.0, scenario=one_caller(index, scenario)) as demo:
        server = demo.server
        for status in server.agents.statuses():
            if status.agent_id not in keep:
                server.agents.logout(status.agent_id)
        base = f"http://127.0.0.1:{server.http_port}"
        async with chromium() as browser:
            page, errors = await console_page(browser, base)
            yield Console(demo, page, errors, phone_for(index))
