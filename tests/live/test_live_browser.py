"""The live transcript in a real browser (Debian Chromium) on the demo wiring (PBX simulator with
its AudioSocket spies, the server's receiver and relay, a live worker on the database): the
customer's words appear in the agent's live panel by speaker as they are spoken, one click puts
them into the new ticket's notes, a prohibited word raises an alert with the transcript on the
supervisor's wallboard, and a reloaded page (a reconnect) shows the transcript so far.
The worker decodes with a stand-in engine (the words are known): Whisper itself is proven in
``asr/`` and on the real PBX."""

from __future__ import annotations

import asyncio
from pathlib import Path

from asr.live_worker import LiveAsrWorker
from asr.redact import RedactionRules
from callcenter.agents.model import AgentProfile
from callcenter.demo.data import DemoData, generate, phone_for
from callcenter.demo.run import running_demo
from callcenter.demo.setup import MENU_AT_S
from callcenter.jobs.queue import JobQueue
from callcenter.settings import DatabaseSettings, HttpSettings, LiveSettings, Secret, Settings
from callcenter.simulator import AgentScript, Arrival, Behaviour, CallerScript, Press, Scenario, Speech
from tests.amilab import LAB
from tests.helpers.chromium import chromium, signed_in
from tests.helpers.polling import wait_until
from tests.live.test_live_worker import OneEngine, Said

REPO = Path(__file__).resolve().parents[2]
WORDS = "I ordered a blender and it arrived broken"


async def test_the_customers_words_in_the_agents_live_panel_into_the_ticket_and_after_a_reload(
        db_url: str, tmp_path: Path) -> None:
    data = generate()
    index, customer = next((i, c) for i, c in enumerate(data.customers, 1) if c[5] == "en" and c[4] == "standard"
                           and any(o[2] == c[0] for o in data.orders))
    sentence = LAB / "recordings" / "customer-refund.wav"

    def scenario(_: DemoData, voices: dict[str, Path], agents: list[AgentProfile]) -> Scenario:
        at = MENU_AT_S["en"]
        caller = CallerScript(number=phone_for(index), name=customer[2], language="en", arrival=Arrival(at_s=(16.0,)),
                              behaviour=Behaviour(presses=(Press(at, "2"), Press(at + 3.0, "2")), patience_s=600,
                                                  talk=(Speech(1.0, sentence), Speech(14.0, sentence))))
        phones = tuple(AgentScript(extension=a.dial_string.split("/")[-1],
                                   behaviour=Behaviour(answer_after_s=2.0, hangup_after_s=80.0)) for a in agents)
        return Scenario((caller,), phones, "live")

    settings = Settings(state_dir=tmp_path / "state", config_dir=REPO / "config",
                        database=DatabaseSettings(url=Secret(db_url)), http=HttpSettings(port=0),
                        live=LiveSettings(prohibited_words=frozenset({"broken"})))
    async with running_demo(settings, speed=1.0, scenario=scenario) as demo:
        server = demo.server
        pool = server.database.pool
        worker = LiveAsrWorker(pool, JobQueue(pool), OneEngine(Said(WORDS)), RedactionRules(), "browser-test")
        stop = asyncio.Event()
        decoding = asyncio.create_task(worker.run(stop))
        for status in server.agents.statuses():
            server.agents.logout(status.agent_id)
        base = f"http://127.0.0.1:{server.http_port}"
        try:
            async with chromium() as browser:
                board, errors = await signed_in(browser, base, "supervisor", "/supervisor")
                page, _ = await signed_in(browser, base, "agent1", "/agent", errors)
                await wait_until(lambda: page.get_attribute("#console", "data-connected"), lambda v: v == "true",
                                 "the feed connected")
                await page.click("#btn-ready")
                said = page.locator("#live-panel .live-customer .live-text")
                await wait_until(said.count, lambda n: n >= 1, "the customer's words in the live panel",
                                 timeout_s=90)
                assert WORDS in (await said.first.text_content() or "")
                assert await page.locator("#live-panel .live-customer .live-who").first.text_content() == "Customer"

                await page.locator("#live-panel .live-customer .live-insert").first.click()
                notes = await page.input_value("#ticket-notes")
                assert notes == f"Customer: {WORDS}"

                # the supervisor's wallboard: the prohibited word, with the live transcript
                alert = board.locator("#live-alerts .live-alert")
                await wait_until(alert.count, lambda n: n >= 1, "the alert on the wallboard", timeout_s=30)
                shown = await alert.first.text_content() or ""
                assert "Prohibited words" in shown and WORDS in shown, shown

                await page.reload()  # a reconnect: the transcript so far comes back
                await wait_until(said.count, lambda n: n >= 1, "the transcript after the reload", timeout_s=30)
                assert not errors, errors
        finally:
            stop.set()
            await asyncio.wait_for(decoding, 10)
            worker.close()
