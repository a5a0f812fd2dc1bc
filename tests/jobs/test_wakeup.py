"""An idle worker wakes when a job of its kind is queued (LISTEN/NOTIFY), not at its next poll;
polling stays the safety net. Against a real PostgreSQL."""

from __future__ import annotations

import asyncio

import asyncpg

from callcenter.jobs.queue import JobQueue
from tests.helpers.polling import wait_until
from tests.jobs.test_worker import Scripted

LISTENING = """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND query LIKE 'LISTEN %cc_jobs%'"""


async def test_idle_worker_claims_a_job_queued_after_it_went_idle_before_its_next_poll(
        pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE jobs RESTART IDENTITY")
    queue = JobQueue(pool)
    worker = Scripted(queue, pool=pool)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop, idle_s=3600))  # polls once an hour
    try:
        await wait_until(lambda: pool.fetchval(LISTENING), what="the worker listening for jobs")
        await queue.enqueue("asr", "late", {"do": "ok"})
        await wait_until(worker.did_one.is_set, what="the job queued while idle done", timeout_s=20)
        assert worker.done == ["late"]
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    assert await pool.fetchval(LISTENING) == 0, "the listening connection was not given back"


async def test_a_job_queued_in_an_open_transaction_wakes_the_worker_once_committed(
        pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE jobs RESTART IDENTITY")
    queue = JobQueue(pool)
    worker = Scripted(queue, pool=pool)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop, idle_s=3600))
    try:
        await wait_until(lambda: pool.fetchval(LISTENING), what="the worker listening for jobs")
        async with pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            await queue.enqueue("asr", "in-tx", {"do": "ok"}, conn=conn)
            await asyncio.sleep(0.3)  # the worker had its chance to (wrongly) see it
            assert worker.done == []
            await tx.commit()
        await wait_until(worker.did_one.is_set, what="the committed job done", timeout_s=20)
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
