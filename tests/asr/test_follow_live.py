"""A call transcribed live is not followed as well (against a real PostgreSQL): its live
transcript becomes its transcript at hang-up, so decoding its recordings during the call too
would take the CPU twice."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest

from callcenter.ami.messages import Action, AmiResponse
from callcenter.ami.parser import Frame
from callcenter.calls.events import Bridged
from callcenter.calls.model import Call, Leg, LegRole, Side
from callcenter.jobs.queue import JobQueue
from callcenter.live import service as service_module
from callcenter.live.service import LiveService
from callcenter.live.spies import SpyLauncher
from callcenter.live.streams import StreamBook
from callcenter.recording.registry import RecordingRegistry, path_mapper

MONITOR = "/var/spool/asterisk/monitor"


async def recording_call(pool: asyncpg.Pool, linkedid: str) -> int:
    call_id = int(await pool.fetchval(
        "INSERT INTO calls (linkedid, state, arrived_at) VALUES ($1, 'talking', now()) RETURNING id", linkedid))
    for kind in ("customer", "agent"):
        await pool.execute("INSERT INTO recordings (call_id, kind, path, started_at) VALUES ($1, $2, $3, now())",
                           call_id, kind, f"{MONITOR}/{linkedid}-{kind}.wav")
    return call_id


async def test_given_a_call_streamed_live_when_the_registry_sweeps_then_only_the_other_call_is_followed(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    await pool.execute("TRUNCATE jobs, calls, recordings CASCADE")
    streamed = await recording_call(pool, "1700000800.1")
    quiet = await recording_call(pool, "1700000801.1")
    live = {"1700000800.1"}
    registry = RecordingRegistry(pool, path_mapper(MONITOR, str(tmp_path)), grace_s=3600, queue=JobQueue(pool),
                                 follow=True)
    registry.follow_unless(lambda: live)
    await registry.sweep()
    keys = [r["key"] for r in await pool.fetch("SELECT key FROM jobs ORDER BY id")]
    assert keys == [f"follow:{quiet}"]
    assert f"follow:{streamed}" not in keys


async def test_given_a_follow_job_waiting_when_the_call_becomes_streamed_then_it_is_parked_with_its_segments(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    await pool.execute("TRUNCATE jobs, calls, recordings CASCADE")
    call_id = await recording_call(pool, "1700000802.1")
    live: set[str] = set()
    queue = JobQueue(pool)
    registry = RecordingRegistry(pool, path_mapper(MONITOR, str(tmp_path)), grace_s=3600, queue=queue,
                                 follow=True, streamed=lambda: live)
    await registry.sweep()
    await pool.execute("""UPDATE jobs SET payload = payload || '{"segments": {"customer": []}}'::jsonb""")
    live.add("1700000802.1")  # the spies' streams connected
    await registry.sweep()
    await registry.sweep()
    rows = await pool.fetch("SELECT key, status, payload ? 'segments' AS kept FROM jobs")
    assert [(r["key"], r["status"], r["kept"]) for r in rows] == [(f"follow:{call_id}", "done", True)]
    assert await queue.claim("asr", "w1") is None, "no worker takes it"


async def test_given_a_parked_job_when_live_gives_up_on_the_call_then_it_is_queued_again_with_its_progress(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    await pool.execute("TRUNCATE jobs, calls, recordings CASCADE")
    call_id = await recording_call(pool, "1700000803.1")
    ended = await recording_call(pool, "1700000804.1")
    live = {"1700000803.1", "1700000804.1"}
    queue = JobQueue(pool)
    for call in (call_id, ended):
        await queue.enqueue("asr", f"follow:{call}", {"call_id": call, "segments": {"a.wav": []}})
    registry = RecordingRegistry(pool, path_mapper(MONITOR, str(tmp_path)), grace_s=3600, queue=queue,
                                 follow=True, streamed=lambda: live)
    await registry.sweep()
    assert await queue.claim("asr", "w1") is None, "both parked"
    await pool.execute("UPDATE calls SET ended_at = now() WHERE id = $1", ended)
    live.clear()  # the streams dropped too often: live gave up on both calls
    await registry.sweep()
    rows = await pool.fetch("SELECT key, status, payload FROM jobs ORDER BY id")
    assert [(r["key"], r["status"]) for r in rows] == [(f"follow:{call_id}", "queued"), (f"follow:{ended}", "done")]
    payload = json.loads(rows[0]["payload"])
    assert payload == {"call_id": call_id, "segments": {"a.wav": []}}, "its progress kept, no longer parked"
    job = await queue.claim("asr", "w1")
    assert job is not None and job.key == f"follow:{call_id}"


class Asterisk:
    async def send(self, action: Action) -> AmiResponse:
        return AmiResponse(Frame({"Response": "Success"}, ""))


def live_service(pool: asyncpg.Pool, linkedid: str, book: StreamBook) -> LiveService:
    call = Call(linkedid, 0.0, caller_uniqueid="1")
    call.legs["1"] = Leg("1", "PJSIP/carrier-00000001", linkedid, LegRole.CALLER, Side.CALLER, 0.0)
    return LiveService(book, SpyLauncher(Asterisk().send, lambda: "127.0.0.1:9092"), lambda _: None,
                       lambda c: call if c == linkedid else None, pool, JobQueue(pool), lambda: 100.0)


async def test_given_a_call_streamed_live_when_paused_or_restarting_then_it_is_followed_only_once_live_gives_up(
        pool: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await pool.execute("TRUNCATE jobs, calls, recordings CASCADE")
    linkedid = "1700000900.1"
    await pool.execute("DELETE FROM live_utterances WHERE linkedid = $1", linkedid)
    call_id = await recording_call(pool, linkedid)
    book = StreamBook()
    service = live_service(pool, linkedid, book)
    registry = RecordingRegistry(pool, path_mapper(MONITOR, str(tmp_path)), grace_s=3600, queue=JobQueue(pool),
                                 follow=True, streamed=service.streamed)

    async def follow_jobs() -> list[str]:
        await registry.sweep()
        return [r["key"] for r in await pool.fetch("SELECT key FROM jobs WHERE key LIKE 'follow:%'")]

    try:
        service.on_call_event(Bridged(linkedid, 90.0, "PJSIP/1001-00000002", "2", "a1", True, 90.0))
        customer, agent = book.live(linkedid)
        for stream in (customer, agent):
            assert book.claim(stream.stream_id) is stream
        assert await follow_jobs() == []
        await service.pause(linkedid, True)  # card data: every stream hung up
        for stream in (customer, agent):
            service.stream_closed(stream, False, 20.0)
        assert service.streamed() == {linkedid} and await follow_jobs() == [], "paused is still live"
        await service.pause(linkedid, False)
        customer, agent = book.live(linkedid)
        for stream in (customer, agent):
            assert book.claim(stream.stream_id) is stream
        service.stream_closed(customer, True, 30.0)  # dropped: asked for again in a moment
        assert service.streamed() == {linkedid} and await follow_jobs() == [], "restarting is still live"
        monkeypatch.setattr(service_module, "MAX_RESTARTS", 0)
        service.stream_closed(agent, True, 31.0)  # dropped once too often
        assert service.streamed() == set() and service.gave_up == 1
        assert await follow_jobs() == [f"follow:{call_id}"], "the rest of the call is followed"
    finally:
        await service.close()
