"""Is every part of the server still making progress? ``/healthz`` and ``/metrics`` ask here.

A server whose call writer stopped saving calls, whose routing timers stopped firing or whose
event loop is blocked must not answer ``/healthz`` with 200. Each part is watched its own way:

- **loops** run under :class:`~callcenter.runtime.supervisor.Supervisor`, which reports the
  ones that failed or made no successful turn for too long;
- **loops and writers** (:meth:`Watchdog.watch`): a probe says when the part last made
  progress (a flush that succeeded, a timer that fired on time); older than ``stall_s`` is a stall;
- **the event loop**: :meth:`Watchdog.run` wakes every ``tick_s`` and measures how late it woke
  (``callcenter_event_loop_lag_seconds``); a lag above ``stall_s`` is reported;
- **workers** (other processes) are watched through the job queue: see
  :mod:`callcenter.jobs.stats`.

Each stalled part sets ``callcenter_progress_stalled{part}`` to 1.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from callcenter.metrics import Metrics
from callcenter.runtime.periodic import periodic

log = structlog.get_logger("callcenter.runtime.watchdog")

Probe = Callable[[], float | None]  # monotonic time of the last progress; None: nothing to do


@dataclass(slots=True)
class Watchdog:
    """Watches writers, timers and the event loop.

    Args:
        metrics: where failures, stalls and the loop lag are shown.
        stall_s: a part whose last progress is older than this is stalled.
        clock: monotonic time (injectable for tests).
    """

    metrics: Metrics | None = None
    stall_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _probes: dict[str, Probe] = field(default_factory=dict)
    _lag_s: float = 0.0
    _lag_peak_s: float = 0.0

    # --- loops and writers ----------------------------------------------------------------

    def watch(self, name: str, probe: Probe) -> None:
        """Report ``name`` as stalled when ``probe()`` is older than ``stall_s``."""
        self._probes[name] = probe

    def problems(self) -> dict[str, str]:
        """Every part that is not making progress, with why (empty: all well)."""
        now = self.clock()
        out: dict[str, str] = {}
        for name, probe in self._probes.items():
            try:
                last = probe()
            except Exception as exc:  # a probe must never break the health check
                out[name] = f"probe failed: {type(exc).__name__}"
                continue
            if last is not None and now - last > self.stall_s:
                out[name] = f"no progress for {now - last:.0f}s"
        if self._lag_s > self.stall_s:
            out["event-loop"] = f"blocked for {self._lag_s:.1f}s"
        if self.metrics is not None:
            for name in [*self._probes, "event-loop"]:
                self.metrics.progress_stalled.labels(name).set(1 if name in out else 0)
        return out

    def statistics(self) -> dict[str, Any]:
        return {"event_loop_lag_s": round(self._lag_s, 4),
                "event_loop_lag_peak_s": round(self._lag_peak_s, 4)}

    # --- the event loop -------------------------------------------------------------------

    async def run(self, tick_s: float = 0.25) -> None:
        """Measure the event loop's lag forever (cancel to stop)."""
        before = self.clock()

        async def measure() -> None:
            nonlocal before
            now = self.clock()
            lag = max(0.0, now - before - tick_s)
            before = now
            self._lag_s = lag
            self._lag_peak_s = max(self._lag_peak_s * 0.99, lag)
            if self.metrics is not None:
                self.metrics.loop_lag.set(lag)
            if lag > 1.0:
                log.warning("event_loop_blocked", lag_s=round(lag, 3))

        await periodic("event-loop-lag", tick_s, measure, retry_on=())


def report_failure(task: asyncio.Future[Any], *, redact: bool = False) -> None:
    """Done-callback for fire-and-forget tasks: an exception is logged at once, not lost
    (``redact``: by its type only, when its message may echo private data)."""
    if task.cancelled():
        return
    exc = task.exception()
    name = task.get_name() if isinstance(task, asyncio.Task) else "future"
    if exc is not None and redact:
        log.error("background_task_failed", task=name, error=type(exc).__name__)
    elif exc is not None:
        log.error("background_task_failed", task=name, error=f"{type(exc).__name__}: {exc}"[:300],
                  exc_info=exc)


def install_loop_handler(metrics: Metrics | None) -> None:
    """Anything the event loop would report on stderr (a task's exception nobody retrieved, a
    callback that raised) is logged and counted as ``task_failures{task="unhandled"}``."""
    loop = asyncio.get_running_loop()

    def handler(_: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if metrics is not None:
            metrics.task_failures.labels("unhandled").inc()
        log.error("event_loop_error", message=str(context.get("message", ""))[:200],
                  error=f"{type(exc).__name__}: {exc}"[:300] if exc is not None else "",
                  exc_info=exc)

    loop.set_exception_handler(handler)
