"""What ``/healthz`` and ``/metrics`` check: the AMI link, the database, the IVR heartbeat, the
reconcile after a (re)connect, and the progress of every loop, writer and worker."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import structlog

from callcenter.calls.ivr_log import IvrLog
from callcenter.calls.recorder import CallRecorder
from callcenter.clock import Clock
from callcenter.jobs.stats import job_stats, publish
from callcenter.routing.agent_store import AgentStore
from callcenter.routing.engine import RoutingEngine
from callcenter.runtime.watchdog import Watchdog
from callcenter.web.app import Health
from ivr.heartbeat import Heartbeat

if TYPE_CHECKING:
    from callcenter.server.resync import Server

log = structlog.get_logger("callcenter.server.health")

WORKERS = ("asr", "qa")


def watch_progress(watchdog: Watchdog, recorder: CallRecorder, ivr_log: IvrLog,
                   agent_store: AgentStore, engine: RoutingEngine, clock: Clock) -> None:
    """The loops and writers whose progress ``/healthz`` checks."""
    watchdog.watch("writer:calls", lambda: recorder.last_progress)
    watchdog.watch("writer:ivr-journal", lambda: ivr_log.last_progress)
    watchdog.watch("writer:agent-states", lambda: agent_store.last_progress)

    def routing_timers() -> float:
        # a timer due long ago that has not fired: the routing loop is stuck
        now = time.monotonic()
        due = engine.next_due()
        if due is None:
            return now
        late = max(0.0, clock.now() - due) / max(clock.speed, 1e-9)
        return now - late

    watchdog.watch("loop:routing-timers", routing_timers)


class ServerHealth:
    """The probes of one running server, for :class:`~callcenter.web.app.Health`."""

    def __init__(self, server: Server, heartbeat: Heartbeat) -> None:
        self._server = server
        self._heartbeat = heartbeat

    def health(self) -> Health:
        ami = self._server.ami
        return Health(ami=lambda: (ami.connected, ami.state), database=self.database,
                      checks={"ivr": self._heartbeat.status, "calls": self.calls},
                      progress=self.progress, loops=self._server.supervisor.liveness)

    async def database(self) -> tuple[bool, str]:
        ok = await self._server.database.ping()
        self._server.metrics.db_up.set(1 if ok else 0)
        return ok, "up" if ok else "unreachable"

    def calls(self) -> tuple[bool, str]:
        if self._server.reconciling:
            return False, "reconciling with Asterisk"
        if not self._server.reconciled:
            return False, "not reconciled with Asterisk since the link came up"
        return True, "reconciled"

    async def progress(self) -> dict[str, str]:
        """Every part making no progress, with why; also refreshes the worker gauges."""
        stalled = self._server.watchdog.problems()
        stalled.update(self._server.supervisor.problems())
        try:
            stalled.update(await self._workers())
        except Exception as exc:  # the database check reports the database itself
            self._server.metrics.caught("job_stats_unavailable")
            log.debug("job_stats_unavailable", error=type(exc).__name__)
        for name in WORKERS:
            self._server.metrics.progress_stalled.labels(f"worker:{name}").set(
                1 if f"worker:{name}" in stalled else 0)
        return stalled

    async def refresh_metrics(self) -> None:
        await self.progress()

    async def _workers(self) -> dict[str, str]:
        stats = await job_stats(self._server.database.pool)
        publish(stats, self._server.metrics)
        stall_s = self._server.settings.health.worker_stall_s
        return {f"worker:{kind}": why for kind, s in stats.items() if (why := s.stalled(stall_s))}
