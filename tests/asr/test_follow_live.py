"""A call transcribed live is not followed as well (against a real PostgreSQL): its live
transcript becomes its transcript at hang-up, so decoding its recordings during the call too
would take the CPU twice."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from callcenter.ami.messages import Action, AmiResponse
from callcenter.jobs.queue import JobQueue
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


async def test_the_calls_streamed_are_the_ones_with_a_stream_connected(pool: asyncpg.Pool) -> None:
    async def send(action: Action) -> AmiResponse:
        raise AssertionError("no action is sent")

    book = StreamBook()
    service = LiveService(book, SpyLauncher(send, lambda: "127.0.0.1:9092"), lambda _: None, lambda _: None,
                          pool, JobQueue(pool), lambda: 0.0)
    connected = book.expect("1700000900.1", "customer", "PJSIP/a-1", 0.0)
    book.expect("1700000901.1", "customer", "PJSIP/b-1", 0.0)  # asked for, never connected
    assert book.claim(connected.stream_id) is connected
    assert service.streamed() == {"1700000900.1"}
    book.end(connected)
    assert service.streamed() == set()
