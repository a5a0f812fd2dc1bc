"""From a simulated call to a stored transcript: the simulator records the answered call per
speaker, the registry finalises the files and queues speech-to-text, a worker decodes them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import asyncpg

from asr.worker import AsrWorker
from callcenter.agents.model import AgentProfile
from callcenter.demo.data import DemoData, generate, phone_for
from callcenter.demo.run import running_demo
from callcenter.demo.setup import MENU_AT_S
from callcenter.jobs.queue import JobQueue
from callcenter.recording.registry import path_mapper
from callcenter.settings import AsrSettings, DatabaseSettings, HttpSettings, Secret, Settings
from callcenter.simulator import AgentScript, Arrival, Behaviour, CallerScript, Press, Scenario, Speech
from tests.asr.model_fixture import asr_engines

__all__ = ["asr_engines"]

REPO = Path(__file__).resolve().parents[2]


async def test_an_answered_call_becomes_a_transcript_by_speaker(db_url: str, asr_engines: Any,
                                                                tmp_path: Path) -> None:
    data = generate()
    index = next(i for i, c in enumerate(data.customers, 1) if c[5] == "en" and c[4] == "standard")
    number = phone_for(index)

    def scenario(_: DemoData, voices: dict[str, Path], agents: list[AgentProfile]) -> Scenario:
        at = MENU_AT_S["en"]
        caller = CallerScript(number=number, name="Pipeline", language="en", arrival=Arrival(at_s=(0.5,)),
                              behaviour=Behaviour(presses=(Press(at, "2"), Press(at + 3.0, "2")),
                                                  talk=(Speech(6.0, voices["customer-refund-en"]),)))
        phones = tuple(AgentScript(extension=a.dial_string.split("/")[-1],
                                   behaviour=Behaviour(answer_after_s=1.0, hangup_after_s=25.0,
                                                       says=(Speech(0.5, voices["agent-greet-en"]),)))
                       for a in agents)
        return Scenario((caller,), phones, "pipeline")

    settings = Settings(state_dir=tmp_path / "state", config_dir=REPO / "config",
                        database=DatabaseSettings(url=Secret(db_url)), http=HttpSettings(port=0))
    async with running_demo(settings, speed=10.0, scenario=scenario) as demo:
        server = demo.server
        pool = server.database.pool
        deadline = time.monotonic() + 90
        while await pool.fetchval("SELECT count(*) FROM jobs WHERE kind = 'asr' AND key NOT LIKE 'follow:%'") == 0:
            assert time.monotonic() < deadline, "no speech-to-text job was queued"
            await server.clock.sleep(2.0)
        worker = AsrWorker(pool, JobQueue(pool), asr_engines, AsrSettings(follow_s=0),
                           path_mapper(server.settings.recording.monitor_dir,
                                       server.settings.recording.local_dir), "pipeline")
        try:
            assert await worker.run_once()
        finally:
            worker.close()
    conn = await asyncpg.connect(db_url)
    try:
        call = await conn.fetchrow("SELECT id FROM calls WHERE caller_number = $1", number)
        rows = await conn.fetch("SELECT speaker, start_s, end_s FROM utterances WHERE call_id = $1"
                                " ORDER BY seq", call["id"])
        job = await conn.fetchrow("SELECT status, last_error FROM jobs WHERE kind = 'asr' AND key = $1",
                                  str(call["id"]))
    finally:
        await conn.close()
    assert job["status"] == "done", job["last_error"]
    speakers = {r["speaker"] for r in rows}
    assert speakers == {"customer", "agent"}, rows
    first_agent = min(r["start_s"] for r in rows if r["speaker"] == "agent")
    first_customer = min(r["start_s"] for r in rows if r["speaker"] == "customer")
    assert first_agent < first_customer  # the agent greets, then the customer talks (at 6 s)
