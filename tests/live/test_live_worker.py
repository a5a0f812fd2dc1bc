"""The live ASR worker on a real PostgreSQL: a segment queued by the server is decoded once and
stored as a live utterance (masked), an idle worker wakes on the notification, and a worker that
dies holding a segment loses it to another after the lease."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from asr.audio import Audio
from asr.engines import Engines
from asr.live_worker import LiveAsrWorker
from asr.redact import RedactionRules
from asr.transcriber import Utterance
from callcenter.jobs.queue import JobQueue
from callcenter.live import store
from tests.helpers.polling import wait_until


class Said:
    """An engine that hears ``text`` in any audio (the decode itself is tested in asr/)."""

    name = "said"

    def __init__(self, text: str) -> None:
        self.text = text
        self.decoded = 0

    def transcribe(self, speaker: str, audio: Audio, language: str) -> list[Utterance]:
        self.decoded += 1
        return [Utterance(speaker, 0.0, audio.duration_s, self.text,
                          [{"word": w, "start": 0.1, "end": 0.2} for w in self.text.split()])]


class OneEngine(Engines):
    def __init__(self, engine: Said) -> None:
        super().__init__({}, "en", __import__("pathlib").Path("."))
        self.engine = engine

    def language_for(self, language: str) -> str:
        return "en"

    def get(self, language: str) -> Any:
        return self.engine


def worker(pool: asyncpg.Pool, engine: Said, name: str, lease_s: float = 2.0) -> LiveAsrWorker:
    return LiveAsrWorker(pool, JobQueue(pool, lease_s=lease_s, retry_base_s=0.1), OneEngine(engine),
                         RedactionRules(), name)


async def segment(pool: asyncpg.Pool, call_id: str = "1796000000.1") -> int:
    return await store.save_segment(pool, JobQueue(pool), call_id, "customer", 3.0, 5.0, 1796000005.0,
                                    b"\x10\x00" * 16000)


async def test_given_a_segment_then_one_masked_utterance_is_stored_and_the_audio_is_gone(pool) -> None:
    engine = Said("call me on 13800000001 about my blender")
    live = worker(pool, engine, "w1")
    before = await store.last_id(pool)
    await segment(pool)
    assert await live.run_once()
    [u] = await store.utterances_after(pool, before)
    assert u["speaker"] == "customer" and u["start_s"] == 3.0 and u["end_s"] == 5.0
    assert "13800000001" not in u["text"] and "blender" in u["text"]
    assert u["words"][0]["start"] == 3.1  # the segment's place in the call
    assert await pool.fetchval("SELECT count(*) FROM live_segments WHERE linkedid = '1796000000.1'") == 0
    assert not await live.run_once()
    live.close()


async def test_given_an_idle_worker_then_a_new_segment_wakes_it(pool) -> None:
    engine = Said("hello")
    live = worker(pool, engine, "w1")
    stop = asyncio.Event()
    task = asyncio.create_task(live.run(stop, idle_s=600.0))  # it would not look again by itself
    try:
        await asyncio.sleep(0.5)
        before = await store.last_id(pool)
        await segment(pool)
        await wait_until(lambda: store.utterances_after(pool, before), what="the utterance", timeout_s=20)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        live.close()


async def test_given_a_worker_dies_holding_a_segment_then_another_decodes_it_once(pool) -> None:
    before = await store.last_id(pool)
    await segment(pool)
    dead = JobQueue(pool, lease_s=5.0)
    assert await dead.claim("live_asr", "dead-worker") is not None  # and never completes it
    engine = Said("it arrived broken")
    other = worker(pool, engine, "w2")
    assert not await other.run_once()  # the lease still holds
    await wait_until(other.run_once, what="the segment retaken after the lease", timeout_s=20, every_s=0.3)
    rows = await store.utterances_after(pool, before)
    assert [r["text"] for r in rows] == ["it arrived broken"] and engine.decoded == 1
    other.close()


async def test_given_a_segment_left_waiting_too_long_then_it_is_dropped_not_decoded(pool) -> None:
    engine = Said("too late")
    live = LiveAsrWorker(pool, JobQueue(pool), OneEngine(engine), RedactionRules(), "w3", stale_s=0.5)
    before = await store.last_id(pool)
    await segment(pool, "1796000000.9")
    await asyncio.sleep(1.0)
    assert await live.run_once()
    assert engine.decoded == 0 and live.stale == 1
    assert await store.utterances_after(pool, before) == []
    assert await pool.fetchval("SELECT count(*) FROM live_segments WHERE linkedid = '1796000000.9'") == 0
    live.close()
