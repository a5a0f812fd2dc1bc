"""The QA worker against a real PostgreSQL: sentiment per utterance, the scorecard with its
evidence, flags, stored once; re-scored when the scorecard's version changes; ``callcenter worker
qa`` as its own process, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from callcenter.jobs.queue import JobQueue
from qa.scorecard import load_scorecards
from qa.worker import QaWorker

REPO = Path(__file__).resolve().parents[2]
CARDS = load_scorecards(REPO / "config" / "qa")

LINES = [
    ("agent", 0.5, 4.0, "thank you for calling happy shop my name is sam"),
    ("customer", 5.0, 12.0, "my blender arrived broken i am really upset"),
    ("agent", 12.5, 16.0, "i am so sorry about that"),
    ("customer", 16.5, 18.0, "ok"),
    ("agent", 18.5, 24.0, "i have processed your refund is there anything else"),
    ("customer", 24.5, 26.0, "no that is great thank you"),
    ("agent", 26.5, 28.0, "thank you for calling goodbye"),
]


def keyword_scorer(texts: Sequence[str]) -> list[tuple[str, float]]:
    """A stand-in for the transformers model (its own tests cover it): words decide."""
    out = []
    for text in texts:
        if any(w in text for w in ("upset", "broken", "awful")):
            out.append(("negative", 0.9))
        elif any(w in text for w in ("great", "thank")):
            out.append(("positive", 0.8))
        else:
            out.append(("neutral", 0.6))
    return out


async def a_transcribed_call(pool: asyncpg.Pool, linkedid: str, lines: list[tuple[str, float, float, str]]) -> int:
    now = datetime.now(UTC)
    call_id = int(await pool.fetchval(
        "INSERT INTO calls (linkedid, state, outcome, arrived_at, answered_at, ended_at, context)"
        " VALUES ($1, 'ended', 'answered', $2, $2, $3, '{\"language\": \"en\"}') RETURNING id",
        linkedid, now - timedelta(seconds=40), now))
    await pool.executemany(
        "INSERT INTO utterances (call_id, seq, speaker, start_s, end_s, text) VALUES ($1, $2, $3, $4, $5, $6)",
        [(call_id, n, s, a, b, t) for n, (s, a, b, t) in enumerate(lines)])
    await JobQueue(pool).enqueue("qa", str(call_id), {"call_id": call_id})
    return call_id


async def drain(worker: QaWorker) -> None:
    while await worker.run_once():
        pass


async def test_a_transcribed_call_is_scored_with_evidence_and_sentiment(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE jobs, calls, utterances, qa_results, qa_overrides CASCADE")
    good = await a_transcribed_call(pool, "1700000700.1", LINES)
    rude = await a_transcribed_call(pool, "1700000701.1", [
        ("agent", 9.0, 10.0, "yes"), ("customer", 11.0, 15.0, "it arrived broken"),
        ("agent", 30.0, 32.0, "calm down it is not my problem"), ("customer", 33.0, 34.0, "awful")])
    worker = QaWorker(pool, JobQueue(pool), keyword_scorer, CARDS, "qa-test", "keywords")
    await drain(worker)
    results = {r["call_id"]: r for r in await pool.fetch("SELECT * FROM qa_results")}
    assert results[good]["total"] >= 90 and results[good]["final_score"] == results[good]["total"]
    assert set(results[rude]["flags"]) >= {"prohibited_word", "customer_ended_negative", "below_pass_mark"}
    items = {i["item_id"]: i for i in json.loads(results[rude]["items"])}
    assert items["prohibited"]["passed"] is False and items["prohibited"]["evidence"][0]["seq"] == 2
    sentiment = json.loads(results[good]["sentiment"])
    assert sentiment["customer_trajectory"][-1] > sentiment["customer_trajectory"][0]
    labels = [r["sentiment"] for r in await pool.fetch(
        "SELECT sentiment FROM utterances WHERE call_id = $1 ORDER BY seq", good)]
    assert labels[1] == "negative" and labels[5] == "positive" and None not in labels
    assert await pool.fetchval("SELECT count(*) FROM jobs WHERE kind = 'qa' AND status = 'done'") == 2


async def test_a_new_scorecard_version_rescores_stored_calls_once(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE jobs, calls, utterances, qa_results, qa_overrides CASCADE")
    call_id = await a_transcribed_call(pool, "1700000800.1", LINES)
    await drain(QaWorker(pool, JobQueue(pool), keyword_scorer, CARDS, "qa-test"))
    newer = {k: dataclasses.replace(v, version=v.version + 1) for k, v in CARDS.items()}
    worker = QaWorker(pool, JobQueue(pool), keyword_scorer, newer, "qa-test-2")
    assert await worker.requeue_outdated() == 1
    assert await worker.requeue_outdated() == 1  # still queued: not duplicated
    await drain(worker)
    assert await worker.requeue_outdated() == 0
    row = await pool.fetchrow("SELECT version FROM qa_results WHERE call_id = $1", call_id)
    assert row["version"] == CARDS["aftersales"].version + 1
    assert await pool.fetchval("SELECT count(*) FROM qa_results") == 1


async def test_a_job_taken_over_by_another_worker_is_not_stored_twice(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE jobs, calls, utterances, qa_results, qa_overrides CASCADE")
    await a_transcribed_call(pool, "1700000900.1", LINES)
    queue = JobQueue(pool, lease_s=60)
    job = await queue.claim("qa", "slow")
    assert job is not None
    await pool.execute("UPDATE jobs SET locked_until = now() - interval '1 s'")  # the lease ran out
    await drain(QaWorker(pool, queue, keyword_scorer, CARDS, "fast"))
    async with pool.acquire() as conn, conn.transaction():
        assert not await queue.complete(job, "slow", conn)
    assert await pool.fetchval("SELECT count(*) FROM qa_results") == 1


async def test_the_qa_worker_process_starts_and_stops_on_sigterm(db_url: str, pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE jobs, calls, utterances, qa_results, qa_overrides CASCADE")
    call_id = await a_transcribed_call(pool, "1700000900.1", LINES)
    env = {**os.environ, "DATABASE_URL": db_url, "CALLCENTER_STATE_DIR": str(REPO / "state"),
           "CALLCENTER_CONFIG_DIR": str(REPO / "config"), "CALLCENTER_LOG_LEVEL": "info"}
    child = await asyncio.create_subprocess_exec(sys.executable, "-m", "callcenter", "worker", "qa",
                                                 cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE,
                                                 stderr=asyncio.subprocess.STDOUT)
    try:
        assert child.stdout is not None
        async with asyncio.timeout(180):
            while b"qa_scored" not in (line := await child.stdout.readline()):
                assert line, "the worker ended before scoring the call"
        child.send_signal(signal.SIGTERM)
        # about a second on an idle machine (the interpreter and torch shutting down); the bound
        # only tells a worker that never stops from one on a machine busy with other work
        assert await asyncio.wait_for(child.wait(), 120) == 0
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert await pool.fetchval("SELECT status FROM jobs WHERE kind = 'qa'") == "done"
    assert await pool.fetchval("SELECT count(*) FROM qa_results WHERE call_id = $1", call_id) == 1
