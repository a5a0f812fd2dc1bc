"""End to end through the PBX simulator: a call's recordings grow while it goes on, the ASR
worker transcribes them during the call, and after hang-up the call is scored on the same words
a whole-file decode of its recordings gives."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg

from asr.worker import AsrWorker, decode_file
from callcenter.agents.model import AgentProfile
from callcenter.demo.data import DemoData, generate, phone_for
from callcenter.demo.run import running_demo
from callcenter.demo.setup import MENU_AT_S
from callcenter.jobs.queue import JobQueue
from callcenter.recording.registry import path_mapper
from callcenter.settings import AsrSettings, DatabaseSettings, HttpSettings, LiveSettings, Secret, Settings
from callcenter.simulator import AgentScript, Arrival, Behaviour, CallerScript, Press, Scenario, Speech
from qa.worker import QaWorker
from tests.asr.model_fixture import asr_engines
from tests.asr.test_follow import Counting
from tests.qa.test_worker import CARDS, keyword_scorer

__all__ = ["asr_engines"]

REPO = Path(__file__).resolve().parents[2]


async def wait_for(pool: asyncpg.Pool, sql: str, *args: Any, what: str, timeout_s: float = 240) -> Any:
    deadline = time.monotonic() + timeout_s
    while (value := await pool.fetchval(sql, *args)) is None:
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.2)
    return value


async def test_a_call_transcribed_while_it_goes_on_is_scored_on_the_words_of_a_whole_file_decode(
        db_url: str, asr_engines: Any, tmp_path: Path) -> None:
    data = generate()
    index = next(i for i, c in enumerate(data.customers, 1) if c[5] == "en" and c[4] == "standard")
    number = phone_for(index)

    def scenario(_: DemoData, voices: dict[str, Path], agents: list[AgentProfile]) -> Scenario:
        at = MENU_AT_S["en"]
        caller = CallerScript(number=number, name="Follow", language="en", arrival=Arrival(at_s=(0.5,)),
                              behaviour=Behaviour(presses=(Press(at, "2"), Press(at + 3.0, "2")),
                                                  talk=(Speech(8.0, voices["customer-refund-en"]),)))
        phones = tuple(AgentScript(extension=a.dial_string.split("/")[-1],
                                   behaviour=Behaviour(answer_after_s=1.0, hangup_after_s=30.0,
                                                       says=(Speech(0.5, voices["agent-greet-en"]),)))
                       for a in agents)
        return Scenario((caller,), phones, "follow")

    # live speech off: a call transcribed live is not followed (its live transcript is its own)
    settings = Settings(state_dir=tmp_path / "state", config_dir=REPO / "config",
                        database=DatabaseSettings(url=Secret(db_url)), http=HttpSettings(port=0),
                        live=LiveSettings(enabled=False))
    engine = asr_engines.get("en")
    async with running_demo(settings, speed=2.0, scenario=scenario) as demo:
        server = demo.server
        pool = server.database.pool
        local = path_mapper(server.settings.recording.monitor_dir, server.settings.recording.local_dir)
        worker = AsrWorker(pool, JobQueue(pool), asr_engines, AsrSettings(follow_s=0.5), local, "follow")
        stop = asyncio.Event()
        with Counting(engine) as decoded:
            running = asyncio.create_task(worker.run(stop, idle_s=0.2))
            try:
                call_id = await wait_for(pool, "SELECT id FROM calls WHERE caller_number = $1 AND ended_at"
                                         " IS NOT NULL", number, what="the call ended")
                during = decoded.decoded
                await wait_for(pool, "SELECT call_id FROM transcripts WHERE call_id = $1", call_id,
                               what="the transcript stored")
            finally:
                stop.set()
                await asyncio.wait_for(running, 60)
                worker.close()
        qa = QaWorker(pool, JobQueue(pool), keyword_scorer, CARDS, "qa-follow")
        while await qa.run_once():
            pass
        score = await pool.fetchval("SELECT total FROM qa_results WHERE call_id = $1", call_id)
        stored = [(r["speaker"], r["text"]) for r in await pool.fetch(
            "SELECT speaker, text FROM utterances WHERE call_id = $1 ORDER BY seq", call_id)]
        files = {r["kind"]: local(r["path"]) for r in await pool.fetch(
            "SELECT kind, path FROM recordings WHERE call_id = $1 AND status = 'final'", call_id)}
        followed = await pool.fetchval("SELECT count(*) FROM jobs WHERE key = $1", f"follow:{call_id}")
    assert during >= 1, "segments were decoded while the call went on"
    whole = sorted((u for kind in ("customer", "agent")
                    for u in decode_file(engine, kind, files[kind], "en")[0]),
                   key=lambda u: (u.start, u.speaker))
    assert stored == [(u.speaker, u.text) for u in whole]
    assert {s for s, _ in stored} == {"customer", "agent"}
    assert score is not None, "the call was scored"
    assert followed == 0, "the follow job is gone with the transcript stored"
