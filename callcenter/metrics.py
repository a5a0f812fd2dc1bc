"""Prometheus metrics, one registry per server instance (no module-level globals)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

log = structlog.get_logger("callcenter.metrics")


class Metrics:
    """The server's metrics; ``render()`` gives the Prometheus text for ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._refreshers: list[Callable[[], Awaitable[None]]] = []
        self._add_ami(self.registry)
        self._add_calls(self.registry)
        self._add_progress(self.registry)
        self._add_jobs(self.registry)

    def _add_ami(self, r: CollectorRegistry) -> None:
        self.ami_events = Counter("callcenter_ami_events", "AMI events received", registry=r)
        self.ami_bad_frames = Counter("callcenter_ami_bad_frames", "AMI frames skipped as malformed",
                                      registry=r)
        self.ami_sanitized = Counter(
            "callcenter_ami_sanitized", "AMI frames cleaned at the edge (control characters,"
            " over-long values, numbers out of range)", ["kind"], registry=r)
        self.ami_reconnects = Counter("callcenter_ami_reconnects", "AMI reconnect attempts",
                                      registry=r)
        self.ami_link_up = Gauge("callcenter_ami_link_up", "1 when the AMI link is logged in",
                                 registry=r)
        self.ami_action_latency = Histogram(
            "callcenter_ami_action_latency_seconds", "Time from sending an AMI action to its response",
            ["action"], registry=r,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )

    def _add_calls(self, r: CollectorRegistry) -> None:
        self.live_calls = Gauge("callcenter_live_calls", "Calls not yet ended", registry=r)
        self.db_up = Gauge("callcenter_database_up", "1 when the database answers", registry=r)
        self.db_rows_rejected = Counter(
            "callcenter_db_rows_rejected", "Rows a writer left out because the database refused"
            " them (logged with the call id); the rest of the batch was stored", ["writer"],
            registry=r)
        self.events_pending = Gauge("callcenter_event_log_pending",
                                    "AMI events waiting to be written to the event log", registry=r)

    def _add_progress(self, r: CollectorRegistry) -> None:
        self.task_failures = Counter("callcenter_task_failures",
                                     "Background loops that raised (logged, then restarted)",
                                     ["task"], registry=r)
        self.loop_age = Gauge("callcenter_loop_last_success_age_seconds",
                              "Seconds since the loop's last successful turn (since its start"
                              " when none yet)", ["loop"], registry=r)
        self.progress_stalled = Gauge("callcenter_progress_stalled",
                                      "1 while a task, loop, writer or worker makes no progress",
                                      ["part"], registry=r)
        self.loop_lag = Gauge("callcenter_event_loop_lag_seconds",
                              "How late the event loop woke up at its last tick", registry=r)
        self.caught_failures = Counter(
            "callcenter_caught_failures", "Errors caught and logged where the work goes on without"
            " the failed step (a listener, a lookup, a row write); ``where`` is the log event",
            ["where"], registry=r)

    def _add_jobs(self, r: CollectorRegistry) -> None:
        self.jobs_queued = Gauge("callcenter_jobs_queued", "Jobs waiting, per kind", ["kind"],
                                 registry=r)
        self.jobs_oldest_age = Gauge("callcenter_jobs_oldest_age_seconds",
                                     "How long the oldest due job of a kind has waited", ["kind"],
                                     registry=r)
        self.jobs_expired_leases = Gauge(
            "callcenter_jobs_expired_leases",
            "Running jobs whose worker's lease ran out (the worker died or hangs)", ["kind"],
            registry=r)
        self.jobs_running = Gauge("callcenter_jobs_running", "Jobs being worked on, per kind",
                                  ["kind"], registry=r)
        self.worker_restarts = Counter("callcenter_worker_restarts",
                                       "Worker processes started again after they died", ["kind"],
                                       registry=r)
        self.worker_up = Gauge("callcenter_worker_up", "1 while the supervised worker process runs",
                               ["kind"], registry=r)

    def caught(self, where: str) -> None:
        """Count an error caught, logged (as the event ``where``) and lived with."""
        self.caught_failures.labels(where).inc()

    def add_refresher(self, refresh: Callable[[], Awaitable[None]]) -> None:
        """``refresh()`` runs before each :meth:`collect` (gauges read from the database)."""
        self._refreshers.append(refresh)

    async def collect(self) -> bytes:
        """Refresh the gauges that are read on demand, then render (never raises for them)."""
        for refresh in self._refreshers:
            try:
                await refresh()
            except Exception as exc:
                self.caught("metrics_refresh_failed")
                log.warning("metrics_refresh_failed", error=f"{type(exc).__name__}: {exc}"[:200])
        return self.render()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def count_caught(metrics: Metrics | None, where: str) -> None:
    """``metrics.caught(where)`` when the part was given the server's metrics (tests may not)."""
    if metrics is not None:
        metrics.caught(where)
