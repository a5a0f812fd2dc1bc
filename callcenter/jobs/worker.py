"""The runtime every background worker (speech-to-text, QA) shares; a worker supplies its
``process(job)`` and loads its models, the rest is here.

- **Claim**: the oldest due job of the worker's kind (:meth:`JobQueue.claim`), one at a time;
  when none is due, or the database is unreachable, wait until a job of the kind is queued
  (LISTEN/NOTIFY, :mod:`~callcenter.jobs.wakeup`) or ``idle_s`` passed, and look again.
- **Lease heartbeat**: while ``process`` runs, the lease is renewed every third of ``lease_s``;
  a worker that dies stops renewing, and another worker takes the job over as a new attempt.
- **Retries**: ``process`` raising one of the worker's ``permanent_errors`` fails the job for
  good; :class:`LeaseLost` (the job was taken over) stores nothing; any other error is retried
  later with backoff (``JobQueue.fail``), up to ``max_attempts``.
- **Metrics**: ``<kind>_jobs_total{result}`` (done, failed, error, lease_lost) and
  ``<kind>_jobs_in_progress``, plus the worker's own, on ``/metrics`` (``--metrics-port``).
- **Signals**: SIGTERM and SIGINT stop the loop after the job at hand.
- **Database**: opened and migrated at start, closed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Protocol

import asyncpg
import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from callcenter.jobs.queue import Job, JobQueue
from callcenter.jobs.wakeup import JobWakeup
from callcenter.settings import Settings
from callcenter.store.db import Database, open_database
from callcenter.store.errors import DatabaseUnavailable
from callcenter.store.migrate import migrate

log = structlog.get_logger("callcenter.jobs.worker")

_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


class PermanentJobError(Exception):
    """The job can never succeed (its input is missing or broken): failed for good, not retried."""


class LeaseLost(Exception):
    """Another worker took the job over; this result must not be stored."""


class WorkerSetupError(Exception):
    """The worker cannot start (its model or its scorecards do not load)."""


class WorkerMetrics:
    """A worker's metrics, on a registry of its own (a worker adds its counters to ``registry``).

    Args:
        kind: the job kind, the metrics' prefix (``asr_jobs_total``).
        label: how the help texts name the jobs (``ASR``).
        doing: what a job in progress is being (``decoded``).
    """

    def __init__(self, kind: str, label: str, doing: str) -> None:
        self.registry = CollectorRegistry()
        self.jobs = Counter(f"{kind}_jobs_total", f"{label} jobs finished, by result", ["result"],
                            registry=self.registry)
        self.busy = Gauge(f"{kind}_jobs_in_progress", f"Jobs being {doing} now", registry=self.registry)

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))


class JobWorker:
    """Claims jobs of ``kind`` and runs :meth:`process` on each, under a renewed lease.

    Args:
        queue: the job queue (its ``lease_s`` sets the heartbeat).
        worker_id: who holds the leases (unique per process).
        metrics: the worker's metrics.
    """

    kind: ClassVar[str]
    permanent_errors: ClassVar[tuple[type[Exception], ...]] = (PermanentJobError,)

    def __init__(self, queue: JobQueue, worker_id: str, metrics: WorkerMetrics) -> None:
        self.queue = queue
        self.worker_id = worker_id
        self.metrics = metrics

    async def process(self, job: Job) -> None:
        """Do the job and store its result, in one transaction with ``queue.complete``
        (raise :class:`LeaseLost` when that refuses)."""
        raise NotImplementedError

    async def prepare(self) -> None:
        """Before the first claim (e.g. queue work again after a configuration change)."""

    async def claim(self) -> Job | None:
        """The next job to do (the oldest due one of the worker's kind)."""
        return await self.queue.claim(self.kind, self.worker_id)

    def describe(self) -> dict[str, Any]:
        """What the start-up log line tells about this worker."""
        return {}

    def close(self) -> None:
        """Release what the worker holds (threads)."""

    async def failed_for_good(self, job: Job) -> None:
        """After ``job`` failed for good (a permanent error, or out of attempts): drop what only
        its success would have cleaned up."""

    async def run(self, stop: asyncio.Event, idle_s: float = 1.0) -> None:
        """Claim and do jobs until ``stop`` is set; idle, until a job is queued (or ``idle_s``)."""
        await self.prepare()
        wakeup = JobWakeup(self.queue.pool, self.kind)
        try:
            while not stop.is_set():
                wakeup.clear()
                try:
                    worked = await self.run_once()
                except _DB_ERRORS as exc:
                    log.warning(f"{self.kind}_queue_unavailable", error=f"{type(exc).__name__}: {exc}")
                    worked = False
                if not worked:
                    await wakeup.wait(stop, idle_s)
        finally:
            await wakeup.close()

    async def run_once(self) -> bool:
        """Claim and do one job; False when none is due."""
        job = await self.claim()
        if job is None:
            return False
        structlog.contextvars.bind_contextvars(job_id=job.id, call_id=job.key)
        self.metrics.busy.inc()
        beat = asyncio.create_task(self._heartbeat(job))
        try:
            await self.process(job)
            self.metrics.jobs.labels("done").inc()
        except LeaseLost:
            self.metrics.jobs.labels("lease_lost").inc()
            log.warning(f"{self.kind}_job_lease_lost")
        except Exception as exc:
            await self._failed(job, exc)
        finally:
            beat.cancel()
            self.metrics.busy.dec()
            structlog.contextvars.unbind_contextvars("job_id", "call_id")
        return True

    async def _failed(self, job: Job, exc: Exception) -> None:
        if isinstance(exc, self.permanent_errors):
            status = await self.queue.fail(job, self.worker_id, str(exc), permanent=True)
            self.metrics.jobs.labels("failed").inc()
            log.warning(f"{self.kind}_job_failed", error=str(exc), status=status)
        else:
            error = f"{type(exc).__name__}: {exc}"
            status = await self.queue.fail(job, self.worker_id, error)
            self.metrics.jobs.labels("error").inc()
            log.warning(f"{self.kind}_job_error", error=error, status=status)
        if status != "failed":
            return
        try:
            await self.failed_for_good(job)
        except _DB_ERRORS as exc:  # left for the next failure or success of the call's job
            log.warning(f"{self.kind}_cleanup_failed", error=f"{type(exc).__name__}: {exc}")

    async def _heartbeat(self, job: Job) -> None:
        while True:
            await asyncio.sleep(self.queue.lease_s / 3)
            try:
                await self.queue.heartbeat(job, self.worker_id)
            except _DB_ERRORS as exc:  # the lease may still be renewed in time
                log.warning(f"{self.kind}_lease_not_renewed", error=f"{type(exc).__name__}: {exc}")


# a loaded worker's constructor: (database pool, worker id) -> the worker
Build = Callable[[asyncpg.Pool, str], JobWorker]


async def run_worker_process(settings: Settings, kind: str, load: Callable[[], Awaitable[Build]], *,
                             worker_id: str | None = None, stop: asyncio.Event | None = None,
                             metrics_port: int | None = None) -> int:
    """A worker process: load, connect, migrate, then claim jobs until SIGINT/SIGTERM (or ``stop``).

    Args:
        settings: the database and state directory.
        kind: the job kind (``asr``, ``qa``).
        load: loads the worker's models (raises :class:`WorkerSetupError`), returns its constructor.
        worker_id: default ``<kind>-<host>-<pid>``.
        metrics_port: serve ``/metrics`` on ``127.0.0.1:PORT``.

    Returns:
        The exit status: 0 stopped, 1 the database is unavailable, 2 the worker could not load.
    """
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    try:
        build = await load()
    except WorkerSetupError as exc:
        log.error(f"{kind}_worker_stopping", reason=str(exc))
        return 2
    try:
        database = await open_database(settings.database, settings.state_dir)
    except DatabaseUnavailable as exc:
        log.error(f"{kind}_worker_stopping", reason=str(exc))
        return 1
    worker = build(database.pool, worker_id or f"{kind}-{socket.gethostname()}-{os.getpid()}")
    await _work(worker, database, stop, metrics_port)
    return 0


async def _work(worker: JobWorker, database: Database, stop: asyncio.Event, metrics_port: int | None
                ) -> None:
    runner = await serve_metrics(worker.metrics, metrics_port) if metrics_port is not None else None
    try:
        await migrate(database.pool)
        log.info(f"{worker.kind}_worker_started", worker_id=worker.worker_id, **worker.describe())
        await worker.run(stop)
    finally:
        worker.close()
        if runner is not None:
            await runner.cleanup()
        await database.close()


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


class RendersMetrics(Protocol):
    def render(self) -> bytes: ...


async def serve_metrics(metrics: RendersMetrics, port: int) -> web.AppRunner:
    """``/metrics`` on ``127.0.0.1:port``; call ``cleanup()`` on the result to stop it."""

    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(),
                            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    app = web.Application()
    app.router.add_get("/metrics", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner
