"""A job queue in PostgreSQL: ``FOR UPDATE SKIP LOCKED`` claims under a lease.

- A job is unique per ``(kind, key)``: enqueueing one that is queued or running does nothing.
- A worker claims a due job and holds it for ``lease_s`` (renewed by :meth:`JobQueue.heartbeat`).
  A worker that dies loses the lease; the job is then claimed again by another, as a new attempt.
- The result is written by the worker in its own transaction, together with
  :meth:`JobQueue.complete`, which succeeds only while the lease is still the worker's: a job
  taken over by another worker can never store its result twice.
- A failed attempt is retried after ``retry_base_s * 2**(attempts-1)`` (capped); after
  ``max_attempts`` (or a permanent error) the job is ``failed`` with its error kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

MAX_BACKOFF_S = 3600.0


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int  # including this one


class JobQueue:
    def __init__(self, pool: asyncpg.Pool, *, lease_s: float = 60.0, retry_base_s: float = 5.0,
                 max_attempts: int = 3) -> None:
        self._pool = pool
        self.pool = pool
        self.lease_s = lease_s
        self.retry_base_s = retry_base_s
        self.max_attempts = max_attempts

    async def enqueue(self, kind: str, key: str, payload: dict[str, Any], *,
                      conn: asyncpg.Connection | None = None, again: bool = False) -> int:
        """Add a job (or, with ``again``, queue a finished one anew); returns its id."""
        # the NOTIFY (delivered at commit) wakes an idle worker of the kind (jobs/wakeup.py)
        sql = """
            WITH queued AS (
            INSERT INTO jobs (kind, key, payload, max_attempts) VALUES ($1, $2, $3::jsonb, $4)
            ON CONFLICT (kind, key) DO UPDATE SET
                payload = CASE WHEN $5 AND jobs.status IN ('done', 'failed')
                               THEN EXCLUDED.payload ELSE jobs.payload END,
                status = CASE WHEN $5 AND jobs.status IN ('done', 'failed')
                              THEN 'queued' ELSE jobs.status END,
                attempts = CASE WHEN $5 AND jobs.status IN ('done', 'failed')
                                THEN 0 ELSE jobs.attempts END,
                run_after = CASE WHEN $5 AND jobs.status IN ('done', 'failed')
                                 THEN now() ELSE jobs.run_after END,
                last_error = CASE WHEN $5 AND jobs.status IN ('done', 'failed')
                                  THEN NULL ELSE jobs.last_error END,
                finished_at = CASE WHEN $5 AND jobs.status IN ('done', 'failed')
                                   THEN NULL ELSE jobs.finished_at END
            RETURNING id)
            SELECT id, pg_notify('cc_jobs', $1) FROM queued"""
        args = (kind, key, json.dumps(payload), self.max_attempts, again)
        if conn is not None:
            return int(await conn.fetchval(sql, *args))
        return int(await self._pool.fetchval(sql, *args))

    async def claim(self, kind: str, worker_id: str, *, later_prefix: str = "") -> Job | None:
        """Take the oldest due job of ``kind`` (or one whose worker's lease ran out); jobs whose
        key starts with ``later_prefix`` (when given) only when no other is due."""
        row = await self._pool.fetchrow(
            """UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $2,
                   locked_until = now() + $3::interval
               WHERE id = (
                   SELECT id FROM jobs
                   WHERE kind = $1 AND ((status = 'queued' AND run_after <= now())
                                        OR (status = 'running' AND locked_until < now()))
                   ORDER BY $4 <> '' AND starts_with(key, $4), run_after, id
                   FOR UPDATE SKIP LOCKED
                   LIMIT 1)
               RETURNING id, kind, key, payload, attempts, max_attempts""",
            kind, worker_id, timedelta(seconds=self.lease_s), later_prefix)
        if row is None:
            return None
        if row["attempts"] > row["max_attempts"]:
            # its workers kept dying: give up on it instead of killing more of them
            await self._pool.execute(
                """UPDATE jobs SET status = 'failed', locked_by = NULL, locked_until = NULL,
                       finished_at = now(),
                       last_error = coalesce(last_error, 'worker lost') || ' (gave up after '
                                    || max_attempts || ' attempts)'
                   WHERE id = $1 AND locked_by = $2""", row["id"], worker_id)
            return await self.claim(kind, worker_id, later_prefix=later_prefix)
        payload = row["payload"]
        return Job(row["id"], row["kind"], row["key"],
                   json.loads(payload) if isinstance(payload, str) else dict(payload), row["attempts"])

    async def heartbeat(self, job: Job, worker_id: str) -> bool:
        """Extend the lease; False when the job is no longer this worker's."""
        done = await self._pool.execute(
            """UPDATE jobs SET locked_until = now() + $3::interval
               WHERE id = $1 AND locked_by = $2 AND status = 'running'""",
            job.id, worker_id, timedelta(seconds=self.lease_s))
        return str(done).endswith(" 1")

    async def complete(self, job: Job, worker_id: str, conn: asyncpg.Connection) -> bool:
        """Mark done inside the caller's result transaction. False: the lease was lost (another
        worker has the job) — roll the transaction back."""
        row = await conn.fetchrow(
            """SELECT locked_by, status, attempts FROM jobs WHERE id = $1 FOR UPDATE""", job.id)
        if row is None or row["status"] != "running" or row["locked_by"] != worker_id \
                or row["attempts"] != job.attempts:
            return False
        await conn.execute(
            """UPDATE jobs SET status = 'done', locked_by = NULL, locked_until = NULL,
                   last_error = NULL, finished_at = now() WHERE id = $1""", job.id)
        return True

    async def checkpoint(self, job: Job, worker_id: str, conn: asyncpg.Connection, payload: dict[str, Any],
                         run_in_s: float) -> bool:
        """Inside the caller's result transaction: the job did part of its work, keeps its
        progress in ``payload`` and is queued again ``run_in_s`` from now (a new first attempt).
        False: the lease was lost — roll the transaction back."""
        done = await conn.execute(
            """UPDATE jobs SET status = 'queued', attempts = 0, payload = $4::jsonb,
                   run_after = now() + make_interval(secs => $5::float8), locked_by = NULL,
                   locked_until = NULL, last_error = NULL
               WHERE id = $1 AND locked_by = $2 AND status = 'running' AND attempts = $3""",
            job.id, worker_id, job.attempts, json.dumps(payload), max(0.0, run_in_s))
        if not str(done).endswith(" 1"):
            return False
        if run_in_s <= 0:  # due at once: wake an idle worker (at commit)
            await conn.execute("SELECT pg_notify('cc_jobs', $1)", job.kind)
        return True

    async def notify(self, kind: str) -> None:
        """Wake an idle worker of ``kind``: jobs became due other than through :meth:`enqueue`."""
        await self._pool.execute("SELECT pg_notify('cc_jobs', $1)", kind)

    async def fail(self, job: Job, worker_id: str, error: str, *, permanent: bool = False) -> str:
        """Record a failed attempt: retried later, or ``failed`` for good. Returns the status."""
        status = await self._pool.fetchval(
            """UPDATE jobs SET
                   status = CASE WHEN $4 OR attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
                   run_after = now() + make_interval(secs => least($5::float8,
                                   $6::float8 * power(2, greatest(attempts - 1, 0)))),
                   finished_at = CASE WHEN $4 OR attempts >= max_attempts THEN now() END,
                   locked_by = NULL, locked_until = NULL, last_error = $3
               WHERE id = $1 AND locked_by = $2 AND status = 'running'
               RETURNING status""",
            job.id, worker_id, error[:2000], permanent, MAX_BACKOFF_S, self.retry_base_s)
        return str(status or "lost")

    async def counts(self) -> dict[str, dict[str, int]]:
        rows = await self._pool.fetch("SELECT kind, status, count(*) AS n FROM jobs GROUP BY 1, 2")
        out: dict[str, dict[str, int]] = {}
        for row in rows:
            out.setdefault(row["kind"], {})[row["status"]] = row["n"]
        return out
