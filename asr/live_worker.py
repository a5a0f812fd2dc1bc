"""``callcenter worker live``: transcribes live utterances as the server cuts them.

Its own process (so a long post-call decode never delays a live one): the Whisper engines of
``[asr]`` with ``live.beam_size`` (greedy by default: about twice as fast). A ``live_asr`` job is
one segment (a stored utterance's 8 kHz audio); the worker decodes it in a thread, matches the
numbers heard with the caller's orders, masks card and phone numbers, and stores the live
utterance with ``NOTIFY live_utterance`` in the transaction that completes the job. The lease
is short (``live.lease_s``): a worker that dies loses its segment within seconds and another
decodes it. Claiming, the lease and the idle wait are the shared worker runtime's
(:mod:`callcenter.jobs.worker`): an idle worker wakes on the queue's own notification when a
segment is queued (and looks every second anyway), so workers on any host that reaches the
database share the streams.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import numpy as np
import structlog

from asr.audio import Audio
from asr.engines import Engine, Engines, WhisperEngine, to_simplified, words_with_times
from asr.redact import RedactionRules, redact
from asr.transcriber import Utterance
from asr.worker import CALL_LANGUAGE
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
from callcenter.live.mentions import match
from callcenter.live.store import LIVE_KIND
from callcenter.settings import Settings

log = structlog.get_logger("asr.live")

CALL_LANGUAGE_BY_LINKEDID = CALL_LANGUAGE.replace("c.id = $1", "c.linkedid = $1")
CALLER_ORDERS = """
SELECT o.id::text, o.order_number, coalesce(string_agg(s.tracking_number, ' '), '') AS tracking
FROM calls c JOIN orders o ON o.customer_id = c.customer_id
LEFT JOIN shipments s ON s.order_id = o.id AND s.tracking_number IS NOT NULL
WHERE c.linkedid = $1 GROUP BY o.id, o.order_number"""


MARGIN_S = 1.0  # of silence after the phrase, as the model is used to padding after speech
# the shortest encoder window: below 15 s tiny.en starts to lose words at a phrase's start
# (measured on the lab's SIP recordings: at 15 s the text matches the full window's, for 0.45
# instead of 0.7 CPU-seconds a phrase; at 5-10 s, 0.3 CPU-seconds but words lost)
MIN_WINDOW_S = 15.0

# texts -> (label, score) each: the QA sentiment model, when it is there
Sentiment = Callable[[list[str]], list[tuple[str, float]]]


class SegmentGone(PermanentJobError):
    """The segment was deleted (its call was purged) before a worker got to it."""


def decode(engine: Engine, speaker: str, pcm: bytes, language: str) -> list[Utterance]:
    """Blocking: the utterance's text. The server's segmenter already cut it at speech, so a
    Whisper engine decodes it in one pass (its own gate would split it and pay the 30-second
    encoder once per piece), with the encoder over the phrase and a margin only; other engines
    transcribe it as they do a file."""
    samples = np.frombuffer(pcm, dtype="<i2")
    if samples.size == 0:
        return []
    if not isinstance(engine, WhisperEngine):
        return engine.transcribe(speaker, Audio(pcm, 8000), language)
    from asr.whisper import resample

    # one decode at a time: the worker's executor has one thread
    decoded = engine.model.decode(resample(samples.astype(np.float32) / 32768.0, 8000), language,
                                  engine.beam_size, window_s=phrase_window_s(samples.size / 8000))
    if not decoded.is_speech:
        return []
    text = to_simplified(decoded.text) if language == "zh" else decoded.text
    duration = samples.size / 8000
    words = words_with_times(text, decoded.pieces if text == decoded.text else [], 0.0, duration, language)
    return [Utterance(speaker, 0.0, round(duration, 2), text, words)] if words else []


def phrase_window_s(duration_s: float) -> float:
    """The encoder's window for a phrase: the phrase, a margin, and at least ``MIN_WINDOW_S``."""
    return max(MIN_WINDOW_S, duration_s + MARGIN_S)


class LiveAsrWorker(JobWorker):
    kind = LIVE_KIND
    permanent_errors = (SegmentGone,)

    def __init__(self, pool: asyncpg.Pool, queue: JobQueue, engines: Engines, rules: RedactionRules,
                 worker_id: str, sentiment: Sentiment | None = None, stale_s: float = 60.0) -> None:
        super().__init__(queue, worker_id, WorkerMetrics(LIVE_KIND, "Live ASR", "decoded"))
        self._pool = pool
        self._engines = engines
        self._rules = rules
        self._sentiment = sentiment
        self._stale_s = stale_s
        self.stale = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-asr")

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def process(self, job: Job) -> None:
        row = await self._pool.fetchrow(
            """SELECT linkedid, speaker, start_s, end_s, speech_end_at, pcm,
                      extract(epoch FROM clock_timestamp() - created_at) AS waited_s
               FROM live_segments WHERE id = $1""", int(job.payload["segment_id"]))
        if row is None:
            raise SegmentGone(f"segment {job.payload['segment_id']} is gone")
        if float(row["waited_s"]) > self._stale_s:
            self.stale += 1  # too late to help anyone live: the post-call pass transcribes it
            await self._store(job, row, None, [], "", None)
            log.info("live_asr_segment_stale", waited_s=round(float(row["waited_s"]), 1))
            return
        language = self._engines.language_for(
            str(await self._pool.fetchval(CALL_LANGUAGE_BY_LINKEDID, row["linkedid"]) or ""))
        started = time.perf_counter()
        pieces, model = await self._decode(row, language)
        decoded = time.perf_counter()
        text = (" " if language != "zh" else "").join(p.text for p in pieces).strip()
        orders = [tuple(r) for r in await self._pool.fetch(CALLER_ORDERS, row["linkedid"])] if text else []
        mentions = [{"kind": m.kind, "number": m.number, "order_id": m.ref} for m in match(text, orders)]
        words = [dict(w, start=round(row["start_s"] + w.get("start", 0), 2),
                      end=round(row["start_s"] + w.get("end", 0), 2)) for p in pieces for w in p.words]
        masked = redact([Utterance(row["speaker"], 0, 0, text, words)], self._rules)[0][0] if text else None
        feeling = None
        if masked is not None and self._sentiment is not None and row["speaker"] == "customer":
            loop = asyncio.get_running_loop()
            feeling = (await loop.run_in_executor(self._executor, self._sentiment, [masked.text]))[0]
        await self._store(job, row, masked, mentions, model, feeling)
        log.info("live_asr_job_done", waited_s=round(float(row["waited_s"]), 3),
                 decode_s=round(decoded - started, 3), audio_s=round(len(row["pcm"]) / 16000, 2),
                 rest_s=round(time.perf_counter() - decoded, 3))

    async def _decode(self, row: asyncpg.Record, language: str) -> tuple[list[Utterance], str]:
        loop = asyncio.get_running_loop()
        engine = await loop.run_in_executor(self._executor, self._engines.get, language)
        pieces = await loop.run_in_executor(self._executor, decode, engine, row["speaker"], bytes(row["pcm"]),
                                            language)
        return pieces, engine.name

    async def _store(self, job: Job, row: asyncpg.Record, masked: Utterance | None,
                     mentions: list[dict[str, str]], model: str, feeling: tuple[str, float] | None) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            if not await self.queue.complete(job, self.worker_id, conn):
                raise LeaseLost
            await conn.execute("DELETE FROM live_segments WHERE id = $1", int(job.key))
            if masked is None:
                return
            stored = await conn.fetchval(
                """INSERT INTO live_utterances (linkedid, segment_id, speaker, start_s, end_s, text, words,
                                                model, mentions, speech_end_at, sentiment, sentiment_score)
                   VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::jsonb, $10, $11, $12)
                   ON CONFLICT (segment_id) DO NOTHING RETURNING id""",
                row["linkedid"], int(job.key), row["speaker"], row["start_s"], row["end_s"], masked.text,
                json.dumps(masked.words), model, json.dumps(mentions), row["speech_end_at"],
                feeling[0] if feeling else None, feeling[1] if feeling else None)
            await conn.execute("SELECT pg_notify('live_utterance', $1)", str(stored or 0))


async def run_live_worker(settings: Settings, *, worker_id: str | None = None,
                          stop: asyncio.Event | None = None, metrics_port: int | None = None) -> int:
    """``callcenter worker live``: run until SIGINT/SIGTERM (or ``stop``); returns the exit status."""

    async def load() -> Build:
        return await _load(settings)

    return await run_worker_process(settings, LIVE_KIND, load, worker_id=worker_id, stop=stop,
                                    metrics_port=metrics_port)


async def _load(settings: Settings) -> Build:
    from asr.engines import configured
    from asr.errors import ModelError

    try:
        base = configured(settings)
        engines = Engines(base.specs, base.default_language, settings.state_dir, settings.live.beam_size)
        await asyncio.to_thread(engines.get, engines.default_language)
    except ModelError as exc:
        raise WorkerSetupError(str(exc)) from exc
    rules = RedactionRules(settings.asr.redact_cards, settings.asr.redact_phones)
    sentiment = await asyncio.to_thread(_sentiment, settings)

    def build(pool: asyncpg.Pool, worker_id: str) -> LiveAsrWorker:
        queue = JobQueue(pool, lease_s=settings.live.lease_s, retry_base_s=0.5, max_attempts=3)
        return LiveAsrWorker(pool, queue, engines, rules, worker_id, sentiment, settings.live.stale_s)

    return build


def _sentiment(settings: Settings) -> Sentiment | None:
    """The QA workers' sentiment model when it was built; without it there are no sentiment alerts."""
    from qa.sentiment import SentimentError, SentimentModel, model_dir, quiet_transformers

    directory = model_dir(settings)
    if not directory.exists():
        log.warning("live_sentiment_unavailable", reason=f"no model in {directory}")
        return None
    try:
        quiet_transformers()
        model = SentimentModel.load(directory, batch_size=8)
    except SentimentError as exc:
        log.warning("live_sentiment_unavailable", reason=str(exc))
        return None
    import torch

    torch.set_num_threads(1)  # the model's loader asks for every core; one decode, one thread

    def predict(texts: list[str]) -> list[tuple[str, float]]:
        return [(p.label, p.score) for p in model.predict(texts)]

    return predict
