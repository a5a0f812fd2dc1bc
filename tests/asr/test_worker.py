"""The ASR worker against a real PostgreSQL and the real engine: a call's recordings become
utterances stored once; broken audio fails its job with the reason and the worker goes on;
a worker killed mid-job is replaced and the result is still stored exactly once."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from asr.worker import AsrWorker
from callcenter.jobs.queue import JobQueue
from callcenter.recording.registry import path_mapper
from callcenter.settings import AsrSettings
from callcenter.store.migrate import migrate
from tests.asr.helpers import LAB
from tests.asr.model_fixture import STATE, asr_engines

__all__ = ["asr_engines"]

REPO = Path(__file__).resolve().parents[2]
MONITOR = "/var/spool/asterisk/monitor"


async def recorded_call(pool: asyncpg.Pool, monitor: Path, name: str,
                        files: dict[str, Path]) -> int:
    """A finished call with final recordings copied from ``files`` (kind -> source)."""
    now = datetime.now(UTC)
    call_id = int(await pool.fetchval(
        "INSERT INTO calls (linkedid, state, outcome, arrived_at, ended_at)"
        " VALUES ($1, 'ended', 'answered', $2, $2) RETURNING id", name, now))
    for kind, source in files.items():
        target = monitor / "2026" / f"{name}-{kind}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        await pool.execute(
            "INSERT INTO recordings (call_id, kind, path, started_at, ended_at, size_bytes, duration_s,"
            " sha256, status) VALUES ($1, $2, $3, $4, $4, $5, 24.56, $6, 'final')",
            call_id, kind, f"{MONITOR}/2026/{name}-{kind}.wav", now, target.stat().st_size, "0" * 64)
    return call_id


def lab_call() -> dict[str, Path]:
    return {"customer": LAB / "refund-call-customer.wav", "agent": LAB / "refund-call-agent.wav",
            "mixed": LAB / "refund-call-mixed.wav"}


def worker_for(pool: asyncpg.Pool, engines: Any, monitor: Path, worker_id: str = "w1",
               lease_s: float = 60.0) -> AsrWorker:
    return AsrWorker(pool, JobQueue(pool, lease_s=lease_s), engines, AsrSettings(),
                     path_mapper(MONITOR, str(monitor)), worker_id)


async def drain(worker: AsrWorker) -> int:
    done = 0
    while await worker.run_once():
        done += 1
    return done


async def test_a_recorded_call_becomes_utterances_a_transcript_and_a_qa_job(
        pool: asyncpg.Pool, asr_engines: Any, tmp_path: Path) -> None:
    await pool.execute("TRUNCATE jobs, calls, recordings, utterances, transcripts CASCADE")
    call_id = await recorded_call(pool, tmp_path, "1700000100.1", lab_call())
    await JobQueue(pool).enqueue("asr", str(call_id), {"call_id": call_id})
    worker = worker_for(pool, asr_engines, tmp_path)
    try:
        assert await drain(worker) == 1
    finally:
        worker.close()
    rows = await pool.fetch("SELECT seq, speaker, start_s, end_s, text, words FROM utterances"
                            " WHERE call_id = $1 ORDER BY seq", call_id)
    assert {r["speaker"] for r in rows} == {"customer", "agent"}  # the split files, not the mix
    assert [r["start_s"] for r in rows] == sorted(r["start_s"] for r in rows)
    assert all(r["text"] and r["words"] != "[]" for r in rows)
    text = " ".join(r["text"] for r in rows).lower()
    assert "blender" in text and "refund" in text and "thank you for calling" in text
    transcript = await pool.fetchrow("SELECT * FROM transcripts WHERE call_id = $1", call_id)
    assert transcript["audio_s"] > 24 and transcript["model"] == "whisper-tiny.en"
    assert transcript["language"] == "en"
    jobs = {r["kind"]: r["status"] for r in await pool.fetch("SELECT kind, status FROM jobs")}
    assert jobs == {"asr": "done", "qa": "queued"}
    text = worker.metrics.render().decode()
    assert 'asr_jobs_total{result="done"} 1.0' in text and "asr_audio_seconds_total 49" in text


async def test_corrupt_audio_fails_its_job_clearly_and_the_worker_goes_on(
        pool: asyncpg.Pool, asr_engines: Any, tmp_path: Path) -> None:
    await pool.execute("TRUNCATE jobs, calls, recordings, utterances, transcripts CASCADE")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")
    silent = tmp_path / "silent.wav"
    import numpy as np

    from tests.asr.helpers import write_wav
    write_wav(silent, np.zeros(8000 * 3, dtype=np.int16))
    bad = await recorded_call(pool, tmp_path, "1700000200.1", {"customer": broken, "agent": broken})
    quiet = await recorded_call(pool, tmp_path, "1700000201.1", {"mixed": silent})
    good = await recorded_call(pool, tmp_path, "1700000202.1", {"mixed": LAB / "refund-call-mixed.wav"})
    queue = JobQueue(pool)
    for call_id in (bad, quiet, good):
        await queue.enqueue("asr", str(call_id), {"call_id": call_id})
    worker = worker_for(pool, asr_engines, tmp_path)
    try:
        assert await drain(worker) == 3
    finally:
        worker.close()
    jobs = {int(r["key"]): r for r in await pool.fetch("SELECT * FROM jobs WHERE kind = 'asr'")}
    assert jobs[bad]["status"] == "failed" and jobs[bad]["attempts"] == 1
    assert "not a readable WAV" in jobs[bad]["last_error"]
    assert jobs[quiet]["status"] == "done" and jobs[good]["status"] == "done"
    counts = {r["call_id"]: r["n"] for r in await pool.fetch(
        "SELECT call_id, count(*) AS n FROM utterances GROUP BY call_id")}
    assert quiet not in counts and counts[good] > 0 and bad not in counts
    assert await pool.fetchval("SELECT count(*) FROM transcripts WHERE call_id = $1", quiet) == 1
    assert await pool.fetchval("SELECT speaker FROM utterances WHERE call_id = $1 LIMIT 1", good) == "mixed"


CHILD = """
import asyncio, sys
from callcenter.settings.loader import load_settings
from asr.worker import run_worker
sys.exit(asyncio.run(run_worker(load_settings(None), worker_id="doomed", lease_s=2.0)))
"""


async def test_a_worker_killed_mid_job_is_replaced_and_the_result_is_stored_once(
        db_url: str, pool: asyncpg.Pool, asr_engines: Any, tmp_path: Path) -> None:
    await pool.execute("TRUNCATE jobs, calls, recordings, utterances, transcripts CASCADE")
    await migrate(pool)
    call_id = await recorded_call(pool, tmp_path, "1700000300.1", lab_call())
    await JobQueue(pool).enqueue("asr", str(call_id), {"call_id": call_id})
    env = {**os.environ, "DATABASE_URL": db_url, "CALLCENTER_STATE_DIR": str(STATE),
           "CALLCENTER_RECORDING_LOCAL_DIR": str(tmp_path), "CALLCENTER_ASR_THREADS": "1"}
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, cwd=REPO, env=env,
                                                 stderr=asyncio.subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while await pool.fetchval("SELECT locked_by FROM jobs WHERE kind = 'asr'") != "doomed":
            assert time.monotonic() < deadline, "the worker did not take the job"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # decoding
        assert await pool.fetchval("SELECT count(*) FROM utterances") == 0
        child.send_signal(signal.SIGKILL)
        await child.wait()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    # the lease runs out; another worker retries the job
    worker = worker_for(pool, asr_engines, tmp_path, "rescuer", lease_s=2.0)
    try:
        deadline = time.monotonic() + 30
        while not await worker.run_once():
            assert time.monotonic() < deadline, "the job was never retried"
            await asyncio.sleep(0.2)
        assert not await worker.run_once()
    finally:
        worker.close()
    job = await pool.fetchrow("SELECT status, attempts, locked_by FROM jobs WHERE kind = 'asr'")
    assert job["status"] == "done" and job["attempts"] == 2
    seqs = [r["seq"] for r in await pool.fetch("SELECT seq FROM utterances WHERE call_id = $1 ORDER BY seq",
                                                call_id)]
    assert seqs and seqs == list(range(len(seqs)))  # stored once, no duplicates
    assert await pool.fetchval("SELECT count(*) FROM transcripts") == 1
    assert await pool.fetchval("SELECT count(*) FROM jobs WHERE kind = 'qa'") == 1




async def test_a_mandarin_call_is_transcribed_by_its_languages_model_in_simplified_characters(
        pool: asyncpg.Pool, asr_engines: Any, tmp_path: Path) -> None:
    """The IVR chose Mandarin: the multilingual model writes Chinese (simplified), not English."""
    from callcenter.demo.voices import ensure_voices

    await pool.execute("TRUNCATE jobs, calls, recordings, utterances, transcripts CASCADE")
    voices = ensure_voices(tmp_path / "voices")
    call_id = await recorded_call(pool, tmp_path, "1700000400.1", {"mixed": voices["customer-refund-zh"]})
    await pool.execute("""UPDATE calls SET context = '{"language": "zh-CN"}' WHERE id = $1""", call_id)
    await JobQueue(pool).enqueue("asr", str(call_id), {"call_id": call_id})
    worker = worker_for(pool, asr_engines, tmp_path)
    try:
        assert await drain(worker) == 1
    finally:
        worker.close()
    transcript = await pool.fetchrow("SELECT model, language FROM transcripts WHERE call_id = $1", call_id)
    assert (transcript["model"], transcript["language"]) == ("whisper-base", "zh")
    text = "".join(r["text"] for r in await pool.fetch("SELECT text FROM utterances WHERE call_id = $1", call_id))
    han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    assert len(han) >= 8, text  # Chinese characters, not English words
    import zhconv

    assert zhconv.convert(text, "zh-cn") == text  # simplified


async def test_a_call_in_a_language_without_an_engine_uses_the_default(
        pool: asyncpg.Pool, asr_engines: Any, tmp_path: Path) -> None:
    await pool.execute("TRUNCATE jobs, calls, recordings, utterances, transcripts CASCADE")
    call_id = await recorded_call(pool, tmp_path, "1700000500.1", {"mixed": LAB / "customer-refund.wav"})
    await pool.execute("""UPDATE calls SET context = '{"language": "de"}' WHERE id = $1""", call_id)
    await JobQueue(pool).enqueue("asr", str(call_id), {"call_id": call_id})
    worker = worker_for(pool, asr_engines, tmp_path)
    try:
        assert await drain(worker) == 1
    finally:
        worker.close()
    transcript = await pool.fetchrow("SELECT model, language FROM transcripts WHERE call_id = $1", call_id)
    assert (transcript["model"], transcript["language"]) == ("whisper-tiny.en", "en")
