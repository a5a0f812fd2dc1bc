"""Transcribing a call's recordings while it goes on, against a real PostgreSQL and the real
engine: the ``follow:`` job decodes the closed segments of the files as they grow and queues
itself again; after hang-up the call's ``asr`` job reuses them, decodes only the tail, and
stores the same transcript a whole-file decode stores."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch

import asyncpg

from asr.engines import WhisperEngine
from asr.growing import GrowingWav
from asr.worker import AsrWorker
from callcenter.jobs.queue import JobQueue
from callcenter.recording.registry import path_mapper
from callcenter.settings import AsrSettings
from tests.asr.helpers import LAB, read_samples
from tests.asr.model_fixture import asr_engines
from tests.asr.test_worker import MONITOR, drain, recorded_call

__all__ = ["asr_engines"]

HEADER_OPEN = 44  # a WAV header whose sizes the recorder has not written yet


def grow(target: Path, source: Path, seconds: float) -> None:
    """``target`` as a recorder leaves it ``seconds`` into the recording (still open)."""
    samples, rate = read_samples(source)
    raw = source.read_bytes()[:HEADER_OPEN]
    open_header = raw[:4] + b"\0\0\0\0" + raw[8:40] + b"\0\0\0\0"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(open_header + samples[: int(seconds * rate)].astype("<i2").tobytes())


class Counting:
    """The engine, counting the segments it decodes (whole tracks and tracks read a part at a time)."""

    def __init__(self, engine: WhisperEngine) -> None:
        self.engine = engine
        self.decoded = 0
        self._decode = engine.decode_clip
        self._patch = patch.object(engine, "decode_clip", self._counted)

    def _counted(self, *args: Any) -> Any:
        self.decoded += 1
        return self._decode(*args)

    def __enter__(self) -> Counting:
        self._patch.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._patch.stop()


async def utterances(pool: asyncpg.Pool, call_id: int) -> list[tuple[str, float, float, str]]:
    rows = await pool.fetch("SELECT speaker, start_s, end_s, text FROM utterances WHERE call_id = $1"
                            " ORDER BY seq", call_id)
    return [(r["speaker"], r["start_s"], r["end_s"], r["text"]) for r in rows]


async def test_a_call_followed_while_recorded_gets_the_whole_file_transcript_with_only_the_tail_left(
        pool: asyncpg.Pool, asr_engines: Any, tmp_path: Path) -> None:
    await pool.execute("TRUNCATE jobs, calls, recordings, utterances, transcripts CASCADE")
    sources = {"customer": LAB / "refund-call-customer.wav", "agent": LAB / "refund-call-agent.wav"}
    queue = JobQueue(pool)
    worker = AsrWorker(pool, queue, asr_engines, AsrSettings(follow_s=3600),
                       path_mapper(MONITOR, str(tmp_path)), "w1")
    engine = asr_engines.get("en")
    assert isinstance(engine, WhisperEngine)
    try:
        # the reference: the same files decoded whole after the call
        whole = await recorded_call(pool, tmp_path, "1700000200.1", sources)
        await queue.enqueue("asr", str(whole), {"call_id": whole})
        with Counting(engine) as all_at_once:
            assert await drain(worker) == 1
        # a call in progress: its files are open and grow
        call_id = int(await pool.fetchval(
            "INSERT INTO calls (linkedid, state, outcome, arrived_at) VALUES ('1700000300.1', 'talking',"
            " 'answered', now()) RETURNING id"))
        for kind in sources:
            await pool.execute("INSERT INTO recordings (call_id, kind, path, started_at) VALUES ($1, $2, $3, now())",
                               call_id, kind, f"{MONITOR}/2026/1700000300.1-{kind}.wav")
        await queue.enqueue("asr", f"follow:{call_id}", {"call_id": call_id})
        with Counting(engine) as during:
            for seconds in (6.0, 12.0, 18.0, 24.0):
                for kind, source in sources.items():
                    grow(tmp_path / "2026" / f"1700000300.1-{kind}.wav", source, seconds)
                await pool.execute("UPDATE jobs SET run_after = now() WHERE key = $1", f"follow:{call_id}")
                await drain(worker)
        job = await pool.fetchrow("SELECT status, payload FROM jobs WHERE key = $1", f"follow:{call_id}")
        assert job["status"] == "queued", "the job comes back while the call is recorded"
        payload = json.loads(job["payload"])
        assert payload["model"] == "whisper-tiny.en"
        assert payload["segments"][str(tmp_path / "2026" / "1700000300.1-customer.wav")], "kept by file"
        # hang-up: the files are closed whole, the call's own job runs
        now = datetime.now(UTC)
        for kind, source in sources.items():
            shutil.copy(source, tmp_path / "2026" / f"1700000300.1-{kind}.wav")
        await pool.execute("UPDATE calls SET state = 'ended', ended_at = $2 WHERE id = $1", call_id, now)
        await pool.execute("UPDATE recordings SET status = 'final', ended_at = $2, size_bytes = 1,"
                           " sha256 = $3 WHERE call_id = $1", call_id, now, "0" * 64)
        await queue.enqueue("asr", str(call_id), {"call_id": call_id})
        with Counting(engine) as after:
            assert await drain(worker) == 1
    finally:
        worker.close()
    assert await utterances(pool, call_id) == await utterances(pool, whole)
    assert during.decoded >= all_at_once.decoded - 2, "all but the last segments were decoded during the call"
    assert after.decoded <= 2, "only the tail is left after hang-up"
    assert during.decoded + after.decoded == all_at_once.decoded, "no segment decoded twice"
    assert await pool.fetchval("SELECT count(*) FROM jobs WHERE key = $1", f"follow:{call_id}") == 0
    assert await pool.fetchval("SELECT status FROM jobs WHERE kind = 'qa' AND key = $1", str(call_id)) == "queued"


async def test_an_ended_call_goes_before_a_call_still_recorded(pool: asyncpg.Pool, asr_engines: Any,
                                                                tmp_path: Path) -> None:
    await pool.execute("TRUNCATE jobs, calls, recordings, utterances, transcripts CASCADE")
    queue = JobQueue(pool)
    await queue.enqueue("asr", "follow:1", {"call_id": 1})
    await queue.enqueue("asr", "2", {"call_id": 2})
    worker = AsrWorker(pool, queue, asr_engines, AsrSettings(), path_mapper(MONITOR, str(tmp_path)), "w1")
    try:
        job = await worker.claim()
    finally:
        worker.close()
    assert job is not None and job.key == "2"


async def test_a_follow_job_of_a_call_that_ended_completes_without_decoding(
        pool: asyncpg.Pool, asr_engines: Any, tmp_path: Path) -> None:
    await pool.execute("TRUNCATE jobs, calls, recordings, utterances, transcripts CASCADE")
    call_id = await recorded_call(pool, tmp_path, "1700000400.1", {"customer": LAB / "refund-call-customer.wav"})
    queue = JobQueue(pool)
    await queue.enqueue("asr", f"follow:{call_id}", {"call_id": call_id})
    worker = AsrWorker(pool, queue, asr_engines, AsrSettings(), path_mapper(MONITOR, str(tmp_path)), "w1")
    engine = asr_engines.get("en")
    try:
        with Counting(engine) as counted:
            assert await drain(worker) == 1
    finally:
        worker.close()
    assert counted.decoded == 0
    assert await pool.fetchval("SELECT status FROM jobs WHERE key = $1", f"follow:{call_id}") == "done"


async def follow_row(pool: asyncpg.Pool, call_id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await pool.fetchrow(
        "SELECT status, payload FROM jobs WHERE key = $1", f"follow:{call_id}")
    return row


SEGMENTS = {"call_id": 0, "model": "whisper-base", "language": "en",
            "segments": {"customer": [{"start": 0.0, "end": 2.0, "text": "my card is ****"}]}}


async def test_a_call_whose_job_fails_for_lack_of_audio_leaves_no_segments_behind(
        pool: asyncpg.Pool, asr_engines: Any, tmp_path: Path) -> None:
    """Segments decoded during the call (masked text in the follow job's payload) go with the
    call's job that failed for good (no final recording), as with one that succeeded."""
    await pool.execute("TRUNCATE jobs, calls, recordings, utterances, transcripts CASCADE")
    call_id = await recorded_call(pool, tmp_path, "1700000500.1", {})
    other = await recorded_call(pool, tmp_path, "1700000501.1", {})
    queue = JobQueue(pool)
    for call in (call_id, other):
        await queue.enqueue("asr", f"follow:{call}", {**SEGMENTS, "call_id": call})
        await pool.execute("UPDATE jobs SET status = 'done' WHERE key = $1", f"follow:{call}")
    await queue.enqueue("asr", str(call_id), {"call_id": call_id})
    worker = AsrWorker(pool, queue, asr_engines, AsrSettings(), path_mapper(MONITOR, str(tmp_path)), "w1")
    try:
        assert await drain(worker) == 1
    finally:
        worker.close()
    job = await pool.fetchrow("SELECT status, last_error FROM jobs WHERE key = $1", str(call_id))
    assert job["status"] == "failed" and "no final recording" in job["last_error"]
    assert await follow_row(pool, call_id) is None
    kept = await follow_row(pool, other)  # another call's segments stay (its job is to come)
    assert kept is not None and "segments" in json.loads(kept["payload"])


async def test_segments_stay_while_the_calls_job_is_retried_and_go_when_it_runs_out_of_attempts(
        pool: asyncpg.Pool, asr_engines: Any, tmp_path: Path) -> None:
    """An error worth retrying (the recording path is not a readable file) keeps the segments
    for the next attempt; the last attempt's failure removes them."""
    await pool.execute("TRUNCATE jobs, calls, recordings, utterances, transcripts CASCADE")
    call_id = await recorded_call(pool, tmp_path, "1700000502.1", {})
    (tmp_path / "2026" / "1700000502.1-mixed.wav").mkdir(parents=True)
    await pool.execute(
        "INSERT INTO recordings (call_id, kind, path, started_at, ended_at, size_bytes, duration_s,"
        " sha256, status) VALUES ($1, 'mixed', $2, now(), now(), 1, 1, $3, 'final')",
        call_id, f"{MONITOR}/2026/1700000502.1-mixed.wav", "0" * 64)
    queue = JobQueue(pool, max_attempts=2, retry_base_s=0.0)
    await queue.enqueue("asr", f"follow:{call_id}", {**SEGMENTS, "call_id": call_id})
    await pool.execute("UPDATE jobs SET status = 'done' WHERE key = $1", f"follow:{call_id}")
    await queue.enqueue("asr", str(call_id), {"call_id": call_id})
    worker = AsrWorker(pool, queue, asr_engines, AsrSettings(), path_mapper(MONITOR, str(tmp_path)), "w1")
    try:
        assert await worker.run_once()
        first = await pool.fetchrow("SELECT status, attempts FROM jobs WHERE key = $1", str(call_id))
        assert (first["status"], first["attempts"]) == ("queued", 1)
        assert await follow_row(pool, call_id) is not None
        await pool.execute("UPDATE jobs SET run_after = now() WHERE key = $1", str(call_id))
        assert await worker.run_once()
    finally:
        worker.close()
    last = await pool.fetchrow("SELECT status, attempts FROM jobs WHERE key = $1", str(call_id))
    assert (last["status"], last["attempts"]) == ("failed", 2)
    assert await follow_row(pool, call_id) is None


class Reads:
    """Opens growing tracks as the worker does, counting the bytes each turn reads."""

    def __init__(self) -> None:
        self.opened: list[GrowingWav] = []

    def __call__(self, path: Path) -> GrowingWav:
        self.opened.append(GrowingWav(path))
        return self.opened[-1]

    def total(self) -> int:
        return sum(track.bytes_read for track in self.opened)


async def test_a_worker_started_anew_goes_on_reading_where_the_payload_says_the_last_one_stopped(
        pool: asyncpg.Pool, asr_engines: Any, tmp_path: Path) -> None:
    await pool.execute("TRUNCATE jobs, calls, recordings, utterances, transcripts CASCADE")
    source = LAB / "refund-call-customer.wav"
    target = tmp_path / "2026" / "1700000700.1-customer.wav"
    call_id = int(await pool.fetchval(
        "INSERT INTO calls (linkedid, state, outcome, arrived_at) VALUES ('1700000700.1', 'talking',"
        " 'answered', now()) RETURNING id"))
    await pool.execute("INSERT INTO recordings (call_id, kind, path, started_at) VALUES ($1, 'customer', $2,"
                       " now())", call_id, f"{MONITOR}/2026/1700000700.1-customer.wav")
    queue = JobQueue(pool)
    await queue.enqueue("asr", f"follow:{call_id}", {"call_id": call_id})
    grow(target, source, 20.0)
    first = AsrWorker(pool, queue, asr_engines, AsrSettings(follow_s=3600), path_mapper(MONITOR, str(tmp_path)),
                      "w1")
    try:
        await drain(first)
    finally:
        first.close()
    payload = json.loads(await pool.fetchval("SELECT payload FROM jobs WHERE key = $1", f"follow:{call_id}"))
    [state] = payload["read"].values()
    assert state["frames"] == 666 and payload["segments"][str(target)]
    grow(target, source, 24.0)  # 4 s more while no worker ran
    reads = Reads()
    second = AsrWorker(pool, queue, asr_engines, AsrSettings(follow_s=3600), path_mapper(MONITOR, str(tmp_path)),
                       "w2", open_track=reads)
    await pool.execute("UPDATE jobs SET run_after = now() WHERE key = $1", f"follow:{call_id}")
    try:
        assert await drain(second) == 1
    finally:
        second.close()
    after = json.loads(await pool.fetchval("SELECT payload FROM jobs WHERE key = $1", f"follow:{call_id}"))
    assert [s["frames"] for s in after["read"].values()] == [800]
    assert reads.total() < 2 * 8000 * 12, "the 4 s added and the talk still open: not the 20 s read before"
    assert len(after["segments"][str(target)]) >= len(payload["segments"][str(target)])
