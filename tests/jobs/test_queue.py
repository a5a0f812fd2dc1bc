"""The job queue against a real PostgreSQL: unique jobs, skip-locked claims, leases, retries
with backoff, a failed state with the error, and completion only while the lease is ours."""

from __future__ import annotations

import asyncio

import asyncpg

from callcenter.jobs.queue import JobQueue


async def clean(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE jobs RESTART IDENTITY")


async def test_enqueue_is_idempotent_per_kind_and_key_until_asked_again(pool: asyncpg.Pool) -> None:
    await clean(pool)
    queue = JobQueue(pool)
    first = await queue.enqueue("asr", "7", {"call_id": 7})
    assert await queue.enqueue("asr", "7", {"call_id": 7}) == first
    assert await queue.enqueue("qa", "7", {"call_id": 7}) != first
    job = await queue.claim("asr", "w1")
    assert job is not None and job.payload == {"call_id": 7} and job.attempts == 1
    async with pool.acquire() as conn, conn.transaction():
        assert await queue.complete(job, "w1", conn)
    assert await queue.enqueue("asr", "7", {"call_id": 7}) == first  # done stays done
    assert await queue.claim("asr", "w1") is None
    await queue.enqueue("asr", "7", {"call_id": 7}, again=True)
    again = await queue.claim("asr", "w1")
    assert again is not None and again.id == first and again.attempts == 1


async def test_concurrent_claims_never_hand_out_a_job_twice(pool: asyncpg.Pool) -> None:
    await clean(pool)
    queue = JobQueue(pool)
    for n in range(20):
        await queue.enqueue("asr", str(n), {"call_id": n})
    claimed = await asyncio.gather(*(queue.claim("asr", f"w{i}") for i in range(30)))
    ids = [job.id for job in claimed if job is not None]
    assert len(ids) == 20 and len(set(ids)) == 20


async def test_a_lost_lease_lets_another_worker_take_the_job_and_refuses_the_first_result(
        pool: asyncpg.Pool) -> None:
    await clean(pool)
    queue = JobQueue(pool, lease_s=0.2)
    await queue.enqueue("asr", "1", {"call_id": 1})
    mine = await queue.claim("asr", "dead")
    assert mine is not None
    assert await queue.claim("asr", "other") is None  # the lease still runs
    await asyncio.sleep(0.3)
    theirs = await queue.claim("asr", "other")
    assert theirs is not None and theirs.id == mine.id and theirs.attempts == 2
    async with pool.acquire() as conn, conn.transaction():
        assert not await queue.complete(mine, "dead", conn)
    assert not await queue.heartbeat(mine, "dead")
    async with pool.acquire() as conn, conn.transaction():
        assert await queue.complete(theirs, "other", conn)
    assert await queue.counts() == {"asr": {"done": 1}}


async def test_failures_retry_with_backoff_then_fail_for_good_with_the_error(pool: asyncpg.Pool) -> None:
    await clean(pool)
    queue = JobQueue(pool, retry_base_s=0.05, max_attempts=3)
    await queue.enqueue("qa", "9", {"call_id": 9})
    delays = []
    for attempt in range(1, 4):
        job = None
        for _ in range(100):
            job = await queue.claim("qa", "w")
            if job is not None:
                break
            await asyncio.sleep(0.02)
        assert job is not None and job.attempts == attempt
        status = await queue.fail(job, "w", f"boom {attempt}")
        row = await pool.fetchrow("SELECT status, run_after - now() AS wait, last_error FROM jobs WHERE id = $1",
                                  job.id)
        delays.append(row["wait"].total_seconds())
        assert status == row["status"]
    assert row["status"] == "failed" and row["last_error"] == "boom 3"
    assert delays[1] > delays[0]  # exponential backoff between retries


async def test_a_permanent_error_fails_at_once(pool: asyncpg.Pool) -> None:
    await clean(pool)
    queue = JobQueue(pool)
    await queue.enqueue("asr", "3", {"call_id": 3})
    job = await queue.claim("asr", "w")
    assert job is not None
    assert await queue.fail(job, "w", "corrupt audio", permanent=True) == "failed"
    assert await queue.claim("asr", "w") is None


async def test_a_job_whose_workers_keep_dying_is_given_up(pool: asyncpg.Pool) -> None:
    await clean(pool)
    queue = JobQueue(pool, lease_s=0.05, max_attempts=2)
    await queue.enqueue("asr", "4", {"call_id": 4})
    for worker in ("a", "b"):
        assert await queue.claim("asr", worker) is not None
        await asyncio.sleep(0.1)
    assert await queue.claim("asr", "c") is None
    row = await pool.fetchrow("SELECT status, last_error FROM jobs WHERE key = '4'")
    assert row["status"] == "failed" and "gave up" in row["last_error"]
