"""What a ``follow:`` job keeps is kept by file (against a real PostgreSQL and the real engine):
a transferred call has two agent files whose times each count from their own start, so speech
at the same file times in both is two segments, decoded and reused each for its own file; and
a file that can never be followed is rejected once, logged and counted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
from structlog.testing import capture_logs

from asr.vad import speech_segments
from asr.worker import AsrWorker
from callcenter.jobs.queue import JobQueue
from callcenter.recording.registry import path_mapper
from callcenter.settings import AsrSettings
from tests.asr.helpers import LAB, read_samples, write_wav
from tests.asr.model_fixture import asr_engines
from tests.asr.test_follow import Counting, grow, utterances
from tests.asr.test_worker import MONITOR, drain

__all__ = ["asr_engines"]

AGENT = LAB / "refund-call-agent.wav"


async def call_in_progress(pool: asyncpg.Pool, linkedid: str, kinds: list[tuple[str, str]]) -> int:
    """A call being recorded, with one ``recordings`` row per (kind, file name)."""
    call_id = int(await pool.fetchval(
        "INSERT INTO calls (linkedid, state, outcome, arrived_at) VALUES ($1, 'talking', 'answered', now())"
        " RETURNING id", linkedid))
    for kind, name in kinds:
        await pool.execute("INSERT INTO recordings (call_id, kind, path, started_at) VALUES ($1, $2, $3, now())",
                           call_id, kind, f"{MONITOR}/2026/{name}")
    return call_id


async def follow_payload(pool: asyncpg.Pool, call_id: int) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(
        await pool.fetchval("SELECT payload FROM jobs WHERE key = $1", f"follow:{call_id}"))
    return payload


async def test_given_two_agent_files_with_speech_at_the_same_times_when_followed_then_each_is_decoded(
        pool: asyncpg.Pool, asr_engines: Any, tmp_path: Path) -> None:
    await pool.execute("TRUNCATE jobs, calls, recordings, utterances, transcripts CASCADE")
    call_id = await call_in_progress(pool, "1700001000.1", [("agent", "1700001000.1-agent.wav"),
                                                            ("agent", "1700001000.1-agent-2.wav")])
    first, second = tmp_path / "2026" / "1700001000.1-agent.wav", tmp_path / "2026" / "1700001000.1-agent-2.wav"
    for target in (first, second):  # the second agent says the same at the same times of their own file
        grow(target, AGENT, 12.0)
    queue = JobQueue(pool)
    await queue.enqueue("asr", f"follow:{call_id}", {"call_id": call_id})
    worker = AsrWorker(pool, queue, asr_engines, AsrSettings(follow_s=3600), path_mapper(MONITOR, str(tmp_path)),
                       "w1")
    try:
        with Counting(asr_engines.get("en")) as counted:
            assert await drain(worker) == 1
    finally:
        worker.close()
    segments = (await follow_payload(pool, call_id))["segments"]
    assert set(segments) == {str(first), str(second)}
    assert segments[str(first)], "the first file has closed segments"
    assert [row[:2] for row in segments[str(second)]] == [row[:2] for row in segments[str(first)]]
    assert counted.decoded == 2 * len(segments[str(first)]), "neither file's segments taken as the other's"


async def test_given_segments_decoded_in_two_agent_files_when_the_call_ends_then_the_kept_file_reuses_its_own(
        pool: asyncpg.Pool, asr_engines: Any, tmp_path: Path) -> None:
    """The after-call pass transcribes the last agent file: it takes that file's segments, never
    the first agent's words decoded at the same times of the first file."""
    await pool.execute("TRUNCATE jobs, calls, recordings, utterances, transcripts CASCADE")
    names = {"customer": "1700001100.1-customer.wav", "agent": "1700001100.1-agent.wav",
             "agent-2": "1700001100.1-agent-2.wav"}
    call_id = await call_in_progress(pool, "1700001100.1", [(kind.split("-")[0], name)
                                                            for kind, name in names.items()])
    samples, rate = read_samples(AGENT)
    bounds = speech_segments(samples, rate)
    words = {"customer": "the customer", "agent": "the first agent", "agent-2": "the second agent"}
    segments = {}
    for kind, name in names.items():
        path = tmp_path / "2026" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_wav(path, samples, rate=rate)
        segments[str(path)] = [[round(s.start, 3), round(s.end, 3), {"text": words[kind], "words": [], "n": 0}]
                               for s in bounds]
    queue = JobQueue(pool)
    await queue.enqueue("asr", f"follow:{call_id}", {"call_id": call_id, "model": "whisper-tiny.en",
                                                     "language": "en", "segments": segments, "read": {}})
    now = datetime.now(UTC)
    await pool.execute("UPDATE calls SET state = 'ended', ended_at = $2 WHERE id = $1", call_id, now)
    await pool.execute("UPDATE recordings SET status = 'final', ended_at = $2, size_bytes = 1, sha256 = $3"
                       " WHERE call_id = $1", call_id, now, "0" * 64)
    await pool.execute("UPDATE jobs SET status = 'done' WHERE key = $1", f"follow:{call_id}")
    await queue.enqueue("asr", str(call_id), {"call_id": call_id})
    worker = AsrWorker(pool, queue, asr_engines, AsrSettings(), path_mapper(MONITOR, str(tmp_path)), "w1")
    try:
        with Counting(asr_engines.get("en")) as counted:
            assert await drain(worker) == 1
    finally:
        worker.close()
    said = await utterances(pool, call_id)
    assert {text for speaker, _, _, text in said if speaker == "agent"} == {"the second agent"}
    assert {text for speaker, _, _, text in said if speaker == "customer"} == {"the customer"}
    assert len(said) == 2 * len(bounds) and counted.decoded == 0, "every segment taken from its own file"


async def test_given_a_file_that_is_not_mono_pcm_when_followed_then_it_is_rejected_once_logged_and_counted(
        pool: asyncpg.Pool, asr_engines: Any, tmp_path: Path) -> None:
    await pool.execute("TRUNCATE jobs, calls, recordings, utterances, transcripts CASCADE")
    call_id = await call_in_progress(pool, "1700001200.1", [("customer", "1700001200.1-customer.wav"),
                                                            ("agent", "1700001200.1-agent.wav")])
    (tmp_path / "2026").mkdir(parents=True)
    stereo = write_wav(tmp_path / "2026" / "1700001200.1-customer.wav", np.zeros(16000), channels=2)
    (tmp_path / "2026" / "1700001200.1-agent.wav").write_bytes(b"RIFF")  # its header is being written
    queue = JobQueue(pool)
    await queue.enqueue("asr", f"follow:{call_id}", {"call_id": call_id})
    worker = AsrWorker(pool, queue, asr_engines, AsrSettings(follow_s=3600), path_mapper(MONITOR, str(tmp_path)),
                       "w1")
    try:
        with capture_logs() as logs:
            for _ in range(3):
                await pool.execute("UPDATE jobs SET run_after = now() WHERE key = $1", f"follow:{call_id}")
                assert await drain(worker) == 1
    finally:
        worker.close()
    rejected = [e for e in logs if e["event"] == "asr_follow_track_rejected"]
    assert len(rejected) == 1 and rejected[0]["speaker"] == "customer" and "channel" in rejected[0]["problem"]
    assert worker.metrics.registry.get_sample_value("asr_follow_rejected_total") == 1.0
    payload = await follow_payload(pool, call_id)
    assert set(payload["read"]) == {str(stereo)}, "the file not written yet is looked at again next turn"
    assert "rejected" in payload["read"][str(stereo)]
    assert await pool.fetchval("SELECT status FROM jobs WHERE key = $1", f"follow:{call_id}") == "queued"
