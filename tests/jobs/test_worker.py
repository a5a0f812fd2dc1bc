"""The worker runtime against a real PostgreSQL: what a job's outcome does to the queue and the
metrics, the lease kept alive while a job runs, and a worker process's start and stop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from callcenter.jobs.queue import Job, JobQueue
from callcenter.jobs.worker import (
    Build,
    JobWorker,
    PermanentJobError,
    WorkerMetrics,
    WorkerSetupError,
    run_worker_process,
)
from callcenter.settings import DatabaseSettings, Secret, Settings


class Broken(Exception):
    pass


class Scripted(JobWorker):
    """Does what each job's payload says: ``ok``, ``broken`` (permanent), ``crash`` or ``slow``."""

    kind = "asr"  # the jobs table knows the real kinds only
    permanent_errors = (PermanentJobError, Broken)

    def __init__(self, queue: JobQueue, worker_id: str = "w1", pool: asyncpg.Pool | None = None) -> None:
        super().__init__(queue, worker_id, WorkerMetrics("test", "Test", "tested"))
        self.pool = pool
        self.prepared = self.closed = False
        self.done: list[str] = []
        self.did_one = asyncio.Event()

    async def prepare(self) -> None:
        self.prepared = True

    def close(self) -> None:
        self.closed = True

    async def process(self, job: Job) -> None:
        what = job.payload["do"]
        if what == "broken":
            raise Broken("unreadable input")
        if what == "crash":
            raise RuntimeError("bug")
        if what == "slow":
            await asyncio.sleep(self.queue.lease_s * 2)
        assert self.pool is not None
        async with self.pool.acquire() as conn, conn.transaction():
            assert await self.queue.complete(job, self.worker_id, conn)
        self.done.append(job.key)
        self.did_one.set()


async def statuses(pool: asyncpg.Pool) -> dict[str, tuple[str, int]]:
    rows = await pool.fetch("SELECT key, status, attempts FROM jobs WHERE kind = 'asr'")
    return {r["key"]: (r["status"], r["attempts"]) for r in rows}


async def test_done_broken_and_crashing_jobs_end_done_failed_and_retried(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE jobs RESTART IDENTITY")
    queue = JobQueue(pool, retry_base_s=60)
    for key, what in (("a", "ok"), ("b", "broken"), ("c", "crash")):
        await queue.enqueue("asr", key, {"do": what})
    worker = Scripted(queue, pool=pool)
    while await worker.run_once():
        pass
    assert await statuses(pool) == {"a": ("done", 1), "b": ("failed", 1), "c": ("queued", 1)}
    assert await pool.fetchval("SELECT last_error FROM jobs WHERE key = 'c'") == "RuntimeError: bug"
    text = worker.metrics.render().decode()
    for result in ("done", "failed", "error"):
        assert f'test_jobs_total{{result="{result}"}} 1.0' in text
    assert "test_jobs_in_progress 0.0" in text


async def test_a_job_running_longer_than_its_lease_keeps_it(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE jobs RESTART IDENTITY")
    queue = JobQueue(pool, lease_s=0.6)
    await queue.enqueue("asr", "long", {"do": "slow"})
    worker = Scripted(queue, pool=pool)
    running = asyncio.create_task(worker.run_once())
    await asyncio.sleep(0.9)  # past the first lease: only the heartbeat keeps the job
    assert await JobQueue(pool, lease_s=0.6).claim("asr", "thief") is None
    assert await running
    assert worker.done == ["long"] and await statuses(pool) == {"long": ("done", 1)}


async def test_a_worker_that_cannot_load_exits_with_2_before_touching_the_database(tmp_path: Path) -> None:
    async def load() -> Build:
        raise WorkerSetupError("no model")

    settings = Settings(state_dir=tmp_path, database=DatabaseSettings(url=Secret("postgresql://nowhere/x")))
    assert await run_worker_process(settings, "asr", load) == 2


async def test_a_worker_process_prepares_runs_and_closes_until_stopped(db_url: str, pool: asyncpg.Pool,
                                                                       tmp_path: Path) -> None:
    await pool.execute("TRUNCATE jobs RESTART IDENTITY")
    await JobQueue(pool).enqueue("asr", "a", {"do": "ok"})
    made: list[Scripted] = []
    stop, built = asyncio.Event(), asyncio.Event()

    def build(worker_pool: asyncpg.Pool, worker_id: str) -> JobWorker:
        made.append(Scripted(JobQueue(worker_pool), worker_id, worker_pool))
        built.set()
        return made[-1]

    async def load() -> Build:
        return build

    settings = Settings(state_dir=tmp_path, database=DatabaseSettings(url=Secret(db_url)))
    process = asyncio.create_task(run_worker_process(settings, "asr", load, worker_id="p1", stop=stop))
    await asyncio.wait_for(built.wait(), 10)
    await asyncio.wait_for(made[0].did_one.wait(), 10)
    stop.set()
    assert await asyncio.wait_for(process, 10) == 0
    assert made[0].prepared and made[0].closed and made[0].worker_id == "p1"
    assert await statuses(pool) == {"a": ("done", 1)}
