"""``callcenter worker asr``: turns each answered call's recordings into a stored transcript.

Its own process: each language's engine (Whisper or vosk, ``[asr.languages]``) is loaded once,
on first use, and decodes with one torch thread (``asr.threads`` decodes at once; more worker
processes for more cores). A job (``asr``, key = the call id) picks the engine of the call's
language (the IVR's choice, else the customer's profile, else ``asr.default_language``), decodes
the customer's and the agent's files (or the mixed one when the split files are not there),
masks card and phone numbers, and stores utterances + transcript + the follow-up ``qa`` job in
one transaction with the job's completion — so a job retried after a crash stores its result exactly once.
Broken audio (empty, truncated, corrupt) ends the job as failed with the reason; silence gives
an empty transcript. Progress and throughput are exported on ``/metrics`` (``--metrics-port``).
Jobs keyed ``follow:<call id>`` transcribe a call's recordings while it goes on
(:mod:`asr.follow`); they are taken only when no ended call waits, and the call's own job then
reuses what they decoded, so after hang-up only the last words are left.
Claiming, the lease, retries, metrics and signals are the shared worker runtime's
(:mod:`callcenter.jobs.worker`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import structlog
from prometheus_client import Counter

from asr import chunks
from asr.audio import Audio, AudioError, read_wav
from asr.engines import Engine, Engines, WhisperEngine
from asr.follow import Follower
from asr.growing import GrowingWav, TrackSource
from asr.redact import Redacted, RedactionRules, redact, redacted_from_json
from asr.transcriber import Utterance, merge
from asr.vad import speech_segments
from callcenter.jobs.queue import Job, JobQueue
from callcenter.jobs.worker import (
    Build,
    JobWorker,
    LeaseLost,
    PermanentJobError,
    WorkerMetrics,
    WorkerSetupError,
    run_worker_process,
)
from callcenter.recording.registry import FOLLOW_PREFIX
from callcenter.settings import AsrSettings, Settings

log = structlog.get_logger("asr.worker")

SPEAKER_OF_KIND = {"customer": "customer", "agent": "agent", "mixed": "mixed"}


class AsrMetrics(WorkerMetrics):
    def __init__(self) -> None:
        super().__init__("asr", "ASR", "decoded")
        self.audio_s = Counter("asr_audio_seconds_total", "Seconds of audio decoded", registry=self.registry)
        self.decode_s = Counter("asr_decode_seconds_total", "Wall seconds spent decoding",
                                registry=self.registry)
        self.utterances = Counter("asr_utterances_total", "Utterances stored", registry=self.registry)
        self.follow_rejected = Counter(
            "asr_follow_rejected_total", "Recordings not followed during the call: not mono 16-bit PCM "
            "WAV or a broken header (transcribed after the call)", registry=self.registry)


@dataclass(frozen=True, slots=True)
class Track:
    speaker: str
    path: Path


class NoAudio(PermanentJobError):
    """The call has no recording to transcribe."""


def pick_tracks(rows: list[asyncpg.Record], local: Callable[[str], Path]) -> list[Track]:
    """The customer and agent files when both are final, else the mixed one.

    Raises:
        NoAudio: no final recording.
    """
    final = {row["kind"]: row["path"] for row in rows if row["status"] == "final"}
    if "customer" in final and "agent" in final:
        return [Track("customer", local(final["customer"])), Track("agent", local(final["agent"]))]
    if "mixed" in final:
        return [Track("mixed", local(final["mixed"]))]
    states = ", ".join(f"{row['kind']}={row['status']}" for row in rows) or "none"
    raise NoAudio(f"no final recording to transcribe ({states})")


def decode_file(engine: Engine, speaker: str, path: Path, language: str,
                decoded: Sequence[chunks.Decoded] = ()) -> tuple[list[Utterance], list[Redacted], float]:
    """Blocking: one file's new utterances, the ones taken as they are from the segments
    ``decoded`` during the call (already masked), and the file's duration. A stereo file gives
    customer (left) and agent (right)."""
    channels = read_wav(path)
    if len(channels) == 2:
        tracks = [engine.transcribe("customer", channels[0], language),
                  engine.transcribe("agent", channels[1], language)]
        return merge(tracks), [], channels[0].duration_s
    audio = channels[0]
    if not isinstance(engine, WhisperEngine) or not decoded:
        return engine.transcribe(speaker, audio, language), [], audio.duration_s
    new, taken = transcribe_reusing(engine, speaker, audio, language, decoded)
    return new, taken, audio.duration_s


def transcribe_reusing(engine: WhisperEngine, speaker: str, audio: Audio, language: str,
                       decoded: Sequence[chunks.Decoded]) -> tuple[list[Utterance], list[Redacted]]:
    """Blocking: a whole track's utterances, decoding only the segments not ``decoded`` during
    the call (those are taken as they are, already masked)."""
    samples = np.frombuffer(audio.pcm, dtype="<i2")
    new: list[Utterance] = []
    taken: list[Redacted] = []
    for segment in speech_segments(samples, audio.rate):
        done = chunks.find(segment, decoded)
        if done is not None:
            if done.result is not None:
                taken.append(redacted_from_json(speaker, segment, done.result))
            continue
        utterance = engine.decode_segment(speaker, samples, audio.rate, segment, language)
        if utterance is not None:
            new.append(utterance)
    return new, taken


CALL_LANGUAGE = """
SELECT coalesce(nullif(c.context->>'language', ''), cu.language, '') AS language
FROM calls c LEFT JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1"""


class AsrWorker(JobWorker):
    """``asr`` jobs: the call's recordings → utterances, transcript and the ``qa`` job."""

    kind = "asr"
    permanent_errors = (NoAudio, AudioError)

    def __init__(self, pool: asyncpg.Pool, queue: JobQueue, engines: Engines,
                 settings: AsrSettings, local: Callable[[str], Path], worker_id: str,
                 metrics: AsrMetrics | None = None,
                 open_track: Callable[[Path], TrackSource] = GrowingWav) -> None:
        self.metrics: AsrMetrics = metrics or AsrMetrics()
        super().__init__(queue, worker_id, self.metrics)
        self._pool = pool
        self._engines = engines
        self._settings = settings
        self._local = local
        self._rules = RedactionRules(settings.redact_cards, settings.redact_phones)
        self._executor = ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix="asr")
        self._follow = Follower(pool, queue, engines, settings, local, self._executor, self._rules,
                                open_track, self.metrics.follow_rejected.inc)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def describe(self) -> dict[str, Any]:
        return {"threads": self._settings.threads,
                "languages": {code: str(spec) for code, spec in self._engines.specs.items()}}

    async def failed_for_good(self, job: Job) -> None:
        """A call's job that failed for good leaves no segments decoded during the call (masked
        text in the ``follow:`` job's payload) behind, as its success would not."""
        if job.key.startswith(FOLLOW_PREFIX):
            return
        await self._pool.execute("DELETE FROM jobs WHERE kind = $1 AND key = $2", self.kind,
                                 f"{FOLLOW_PREFIX}{job.key}")  # a call's job is keyed by its id

    async def claim(self) -> Job | None:
        """Calls that have ended first; a call still going on only when none is waiting."""
        return await self.queue.claim(self.kind, self.worker_id, later_prefix=FOLLOW_PREFIX)

    async def process(self, job: Job) -> None:
        if job.key.startswith(FOLLOW_PREFIX):
            await self._follow.process(job, self.worker_id)
            return
        call_id = int(job.payload["call_id"])
        rows = await self._pool.fetch(
            "SELECT kind, path, status FROM recordings WHERE call_id = $1 ORDER BY id", call_id)
        tracks = pick_tracks(rows, self._local)
        language = self._engines.language_for(str(await self._pool.fetchval(CALL_LANGUAGE, call_id) or ""))
        loop = asyncio.get_running_loop()
        engine = await loop.run_in_executor(self._executor, self._engines.get, language)
        early = await self._follow.decoded(call_id, engine.name, language)
        started = time.perf_counter()
        results = await asyncio.gather(*(
            loop.run_in_executor(self._executor, decode_file, engine, t.speaker, t.path, language,
                                 early.get(str(t.path), []))
            for t in tracks))
        decode_s = time.perf_counter() - started
        audio_s = max(duration for _, _, duration in results)
        utterances = sorted(redact(merge([new for new, _, _ in results]), self._rules)
                            + [item for _, taken, _ in results for item in taken],
                            key=lambda item: (item[0].start, item[0].speaker))
        await self._store(job, call_id, utterances, audio_s, decode_s, engine.name, language)
        self.metrics.audio_s.inc(sum(duration for _, _, duration in results))
        self.metrics.decode_s.inc(decode_s)
        self.metrics.utterances.inc(len(utterances))
        log.info("asr_job_done", utterances=len(utterances), audio_s=round(audio_s, 1), language=language,
                 model=engine.name, decoded_during_call=sum(len(taken) for _, taken, _ in results),
                 rtf=round(decode_s / audio_s, 3) if audio_s else 0.0)

    async def _store(self, job: Job, call_id: int, utterances: list[Redacted],
                     audio_s: float, decode_s: float, model: str, language: str) -> None:
        keep = self._settings.keep_unredacted
        records = [(call_id, seq, u.speaker, u.start, u.end, u.text, json.dumps(u.words),
                    original if keep and n else None)
                   for seq, (u, original, n) in enumerate(utterances)]
        async with self._pool.acquire() as conn, conn.transaction():
            if not await self.queue.complete(job, self.worker_id, conn):
                raise LeaseLost
            await conn.execute("DELETE FROM utterances WHERE call_id = $1", call_id)
            await conn.executemany(
                """INSERT INTO utterances (call_id, seq, speaker, start_s, end_s, text, words,
                                           text_unredacted)
                   VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)""", records)
            await conn.execute(
                """INSERT INTO transcripts (call_id, model, language, audio_s, decode_s, redacted)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (call_id) DO UPDATE SET model = EXCLUDED.model,
                       language = EXCLUDED.language, audio_s = EXCLUDED.audio_s,
                       decode_s = EXCLUDED.decode_s, redacted = EXCLUDED.redacted, created_at = now()""",
                call_id, model, language, audio_s, decode_s,
                sum(n for _, _, n in utterances))
            await self.queue.enqueue("qa", str(call_id), {"call_id": call_id}, conn=conn, again=True)
            await conn.execute("DELETE FROM jobs WHERE kind = $1 AND key = $2", self.kind,
                               f"{FOLLOW_PREFIX}{call_id}")  # its segments are in the transcript now


async def run_worker(settings: Settings, *, worker_id: str | None = None,
                     stop: asyncio.Event | None = None, metrics_port: int | None = None,
                     lease_s: float = 60.0) -> int:
    """``callcenter worker asr``: run until SIGINT/SIGTERM (or ``stop``); returns the exit status."""

    async def load() -> Build:
        return await _load(settings, lease_s)

    return await run_worker_process(settings, "asr", load, worker_id=worker_id, stop=stop,
                                    metrics_port=metrics_port)


async def _load(settings: Settings, lease_s: float) -> Build:
    """Load the default language's model now (the others load on their first call)."""
    from asr.engines import configured
    from asr.errors import ModelError
    from callcenter.recording.registry import path_mapper

    try:
        engines = configured(settings)
        await asyncio.to_thread(engines.get, engines.default_language)
    except ModelError as exc:
        raise WorkerSetupError(str(exc)) from exc
    local = path_mapper(settings.recording.monitor_dir, settings.recording.local_dir)

    def build(pool: asyncpg.Pool, worker_id: str) -> AsrWorker:
        queue = JobQueue(pool, lease_s=lease_s, retry_base_s=settings.asr.retry_base_s,
                         max_attempts=settings.asr.max_attempts)
        return AsrWorker(pool, queue, engines, settings.asr, local, worker_id)

    return build
