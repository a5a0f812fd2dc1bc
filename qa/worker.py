"""``callcenter worker qa``: scores each transcribed call.

Its own process. A ``qa`` job (queued by the speech-to-text worker with the transcript) gets
sentiment for every utterance (the transformers model runs in a thread of this process, never
in the server), per-speaker averages and the customer's trajectory, the scorecard's items with
their evidence, the 0-100 score and flags; all stored in one transaction with the job's
completion (stored once). At start, calls scored with an older scorecard version are queued
again. ``/metrics`` on ``--metrics-port``. Claiming, the lease, retries, metrics and signals are
the shared worker runtime's (:mod:`callcenter.jobs.worker`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from prometheus_client import Counter

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
from callcenter.settings import Settings
from qa.scorecard import CallFacts, Scorecard, Utt, load_scorecards, score_call
from qa.scorecard.score import CardResult, total_of

log = structlog.get_logger("qa.worker")

# texts -> (label, probability) per text
Scorer = Callable[[Sequence[str]], list[tuple[str, float]]]
DEFAULT_SCORECARD = "aftersales"


class QaMetrics(WorkerMetrics):
    def __init__(self) -> None:
        super().__init__("qa", "QA", "scored")
        self.utterances = Counter("qa_utterances_scored_total", "Utterances given a sentiment",
                                  registry=self.registry)


def hold_seconds(pauses: Any) -> float:
    """Seconds the caller was put on hold while connected: the call's pauses marked ``hold``
    (payment-data pauses are not hold). Nothing else stores a hold, so it is 0 otherwise."""
    raw = json.loads(pauses) if isinstance(pauses, str) else pauses or []
    total = 0.0
    for pause in raw:
        if isinstance(pause, list) and len(pause) > 2 and pause[2] == "hold" and pause[0] and pause[1]:
            start, end = datetime.fromisoformat(pause[0]), datetime.fromisoformat(pause[1])
            total += max(0.0, (end - start).total_seconds())
    return total


class QaWorker(JobWorker):
    """``qa`` jobs: a transcribed call's sentiment, scorecard items, score and flags."""

    kind = "qa"

    def __init__(self, pool: asyncpg.Pool, queue: JobQueue, scorer: Scorer, cards: dict[str, Scorecard],
                 worker_id: str, model_name: str = "", metrics: QaMetrics | None = None,
                 batch_size: int = 32) -> None:
        self.metrics: QaMetrics = metrics or QaMetrics()
        super().__init__(queue, worker_id, self.metrics)
        self._pool = pool
        self._scorer = scorer
        self._cards = cards
        self._model_name = model_name
        self._batch = batch_size

    def card_for(self, _context: dict[str, Any]) -> Scorecard:
        return self._cards.get(DEFAULT_SCORECARD) or next(iter(self._cards.values()))

    def describe(self) -> dict[str, Any]:
        return {"scorecards": sorted(self._cards)}

    async def prepare(self) -> None:
        await self.requeue_outdated()

    async def requeue_outdated(self) -> int:
        """Queue again every call scored with an older version of its scorecard."""
        count = 0
        for card in self._cards.values():
            rows = await self._pool.fetch(
                "SELECT call_id FROM qa_results WHERE scorecard = $1 AND version < $2", card.id, card.version)
            for row in rows:
                await self.queue.enqueue("qa", str(row["call_id"]), {"call_id": row["call_id"]}, again=True)
            count += len(rows)
        if count:
            log.info("qa_rescoring", calls=count)
        return count

    async def process(self, job: Job) -> None:
        call_id = int(job.payload["call_id"])
        call = await self._pool.fetchrow("SELECT context, recording_pauses, arrived_at, ended_at FROM calls"
                                         " WHERE id = $1", call_id)
        if call is None:
            raise PermanentJobError("the call no longer exists")
        rows = await self._pool.fetch("SELECT id, seq, speaker, start_s, end_s, text FROM utterances"
                                      " WHERE call_id = $1 ORDER BY seq", call_id)
        labels = await self._sentiments([r["text"] for r in rows])
        context = json.loads(call["context"]) if isinstance(call["context"], str) else dict(call["context"])
        language = str(context.get("language", "en"))
        utts = [Utt(r["seq"], r["speaker"], r["start_s"], r["end_s"], r["text"], label, score)
                for r, (label, score) in zip(rows, labels, strict=True)]
        duration = (call["ended_at"] - call["arrived_at"]).total_seconds() if call["ended_at"] else 0.0
        card = self.card_for(context)
        result = score_call(card, utts, CallFacts(duration, hold_seconds(call["recording_pauses"]),
                                                  language))
        sentiments = [(r["id"], label, float(score)) for r, (label, score) in zip(rows, labels, strict=True)]
        await self._store(job, call_id, card, sentiments, result)
        self.metrics.utterances.inc(len(rows))
        log.info("qa_scored", call_id=call_id, total=result.total, flags=list(result.flags))

    async def _sentiments(self, texts: list[str]) -> list[tuple[str, float]]:
        """The scorer runs in a thread, ``batch_size`` texts at a time."""
        loop = asyncio.get_running_loop()
        labels: list[tuple[str, float]] = []
        for i in range(0, len(texts), self._batch):
            labels += await loop.run_in_executor(None, self._scorer, texts[i:i + self._batch])
        return labels

    async def _store(self, job: Job, call_id: int, card: Scorecard, sentiments: list[tuple[int, str, float]],
                     result: CardResult) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            if not await self.queue.complete(job, self.worker_id, conn):
                raise LeaseLost
            await conn.executemany("UPDATE utterances SET sentiment = $2, sentiment_score = $3 WHERE id = $1",
                                   sentiments)
            overrides = {r["item_id"]: r["passed"] for r in await conn.fetch(
                "SELECT DISTINCT ON (item_id) item_id, passed FROM qa_overrides WHERE call_id = $1"
                " ORDER BY item_id, at DESC", call_id)}
            await conn.execute(
                """INSERT INTO qa_results (call_id, scorecard, version, total, final_score, items, flags,
                                           sentiment, model, scored_at)
                   VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb, $9, now())
                   ON CONFLICT (call_id) DO UPDATE SET scorecard = EXCLUDED.scorecard,
                       version = EXCLUDED.version, total = EXCLUDED.total,
                       final_score = EXCLUDED.final_score, items = EXCLUDED.items,
                       flags = EXCLUDED.flags, sentiment = EXCLUDED.sentiment, model = EXCLUDED.model,
                       scored_at = now()""",
                call_id, card.id, card.version, result.total, total_of(result.items, overrides),
                json.dumps(result.items_json(), ensure_ascii=False), list(result.flags),
                json.dumps(result.sentiment), self._model_name)


def model_scorer(directory: Path) -> Scorer:
    """A scorer backed by the sentiment model in ``directory``."""
    from qa.sentiment import SentimentModel

    model = SentimentModel.load(directory)

    def score(texts: Sequence[str]) -> list[tuple[str, float]]:
        return [(p.label, p.score) for p in model.predict(texts)]

    return score


async def run_worker(settings: Settings, *, worker_id: str | None = None, stop: asyncio.Event | None = None,
                     metrics_port: int | None = None, lease_s: float = 120.0) -> int:
    """``callcenter worker qa``: run until SIGINT/SIGTERM (or ``stop``); returns the exit status."""

    async def load() -> Build:
        return await _load(settings, lease_s)

    return await run_worker_process(settings, "qa", load, worker_id=worker_id, stop=stop,
                                    metrics_port=metrics_port)


async def _load(settings: Settings, lease_s: float) -> Build:
    """The scorecards and the sentiment model (built on first use)."""
    from qa.scorecard import ScorecardError

    try:
        cards = load_scorecards(settings.config_dir / "qa")
    except ScorecardError as exc:
        raise WorkerSetupError(str(exc)) from exc
    if not cards:
        raise WorkerSetupError(f"no scorecard in {settings.config_dir / 'qa'}")
    try:
        from qa.build import ensure_model

        directory = await asyncio.to_thread(ensure_model, settings)
        scorer = await asyncio.to_thread(model_scorer, directory)
    except Exception as exc:
        raise WorkerSetupError(f"sentiment model: {type(exc).__name__}: {exc}") from exc

    def build(pool: asyncpg.Pool, worker_id: str) -> QaWorker:
        queue = JobQueue(pool, lease_s=lease_s, max_attempts=settings.qa.max_attempts)
        return QaWorker(pool, queue, scorer, cards, worker_id, str(directory),
                        batch_size=settings.qa.batch_size)

    return build
