"""The job queue seen from outside: depth, oldest waiting job and expired leases per kind.

Workers run in other processes; the server sees whether they make progress through the queue
they share. A kind is **stalled** when work is waiting (a due job, or a job whose worker's lease
ran out) and no worker of that kind has claimed, renewed or finished a job for ``stall_s``:
its workers are dead, hung, or were never started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import asyncpg
from prometheus_client import Gauge

KINDS = ("asr", "qa")

_SQL = """
SELECT kind,
       count(*) FILTER (WHERE status = 'queued') AS queued,
       count(*) FILTER (WHERE status = 'running' AND locked_until >= now()) AS running,
       count(*) FILTER (WHERE status = 'running' AND locked_until < now()) AS expired,
       extract(epoch FROM now() - min(run_after)
               FILTER (WHERE status = 'queued' AND run_after <= now()))::float8 AS oldest_s,
       extract(epoch FROM now() - min(locked_until)
               FILTER (WHERE status = 'running' AND locked_until < now()))::float8 AS expired_s,
       extract(epoch FROM now() - max(updated_at)
               FILTER (WHERE status <> 'queued' OR attempts > 0))::float8 AS activity_s
FROM jobs GROUP BY kind
"""


@dataclass(frozen=True, slots=True)
class KindStats:
    kind: str
    queued: int = 0
    running: int = 0
    expired_leases: int = 0
    oldest_age_s: float = 0.0  # of the oldest due queued job
    expired_for_s: float = 0.0  # since the oldest expired lease ran out
    idle_s: float | None = None  # since a worker last touched a job of this kind (None: never)

    def stalled(self, stall_s: float) -> str:
        """Why this kind's workers look stalled, or '' when they do not."""
        waiting = max(self.oldest_age_s, self.expired_for_s)
        if waiting <= stall_s:
            return ""
        if self.idle_s is not None and self.idle_s <= stall_s:
            return ""
        if self.expired_leases:
            return (f"{self.expired_leases} job(s) with an expired lease for {self.expired_for_s:.0f}s:"
                    " a worker died or hangs")
        return f"{self.queued} job(s) waiting, the oldest for {self.oldest_age_s:.0f}s: no worker"


async def job_stats(pool: asyncpg.Pool) -> dict[str, KindStats]:
    """Per kind (every known kind, zeros when none)."""
    out = {kind: KindStats(kind) for kind in KINDS}
    for row in await pool.fetch(_SQL):
        out[row["kind"]] = KindStats(row["kind"], row["queued"], row["running"], row["expired"],
                                     row["oldest_s"] or 0.0, row["expired_s"] or 0.0,
                                     row["activity_s"])
    return out


class JobGauges(Protocol):
    """The server's per-kind job gauges (:class:`callcenter.metrics.Metrics` has them)."""

    jobs_queued: Gauge
    jobs_running: Gauge
    jobs_expired_leases: Gauge
    jobs_oldest_age: Gauge


def publish(stats: dict[str, KindStats], metrics: JobGauges) -> None:
    for kind, s in stats.items():
        metrics.jobs_queued.labels(kind).set(s.queued)
        metrics.jobs_running.labels(kind).set(s.running)
        metrics.jobs_expired_leases.labels(kind).set(s.expired_leases)
        metrics.jobs_oldest_age.labels(kind).set(s.oldest_age_s)
