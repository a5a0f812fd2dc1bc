"""One supervisor for the server's long-running loops.

Every loop runs as a task of one :class:`asyncio.TaskGroup`:

- a loop that raises is logged and counted (``callcenter_task_failures{task}``) and started again
  after a backoff (1 s, doubling up to 30 s); while it waits it is reported by ``/healthz``;
- a loop that keeps failing (more than ``max_failures`` failures within ``window_s``), or one
  started with ``restart=False`` that fails once, stops the server: :class:`LoopFailed` is logged
  naming the loop, every other loop is cancelled and the error leaves the ``async with``
  (``callcenter serve`` exits 1 and a standby takes over);
- each loop's liveness is the age of its last successful turn (reported by
  :func:`~callcenter.runtime.periodic.periodic`); a loop started with a ``stall_s`` whose last
  turn is older than that is stalled, and ``/healthz`` answers 503.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import structlog

from callcenter.metrics import Metrics

log = structlog.get_logger("callcenter.runtime.supervisor")

LoopFactory = Callable[[], Coroutine[Any, Any, None]]


class LoopFailed(Exception):
    """A loop failed for good: the server stops."""

    def __init__(self, loop: str, failures: int, error: str) -> None:
        super().__init__(f"loop {loop!r} failed {failures} time(s), last: {error}")
        self.loop = loop
        self.failures = failures
        self.error = error


@dataclass(slots=True)
class LoopState:
    """What the supervisor knows of one loop (all times monotonic)."""

    name: str
    clock: Callable[[], float]
    started_at: float
    stall_s: float | None = None
    last_turn: float | None = None
    failed_turns: int = 0
    failures: int = 0
    recent: deque[float] = field(default_factory=deque)
    last_error: str = ""
    down_since: float | None = None
    task: asyncio.Task[None] | None = None

    def turned(self) -> None:
        self.last_turn = self.clock()

    def age(self) -> float:
        """Seconds since the last successful turn (since the start when none yet)."""
        return self.clock() - (self.last_turn if self.last_turn is not None else self.started_at)

    def report(self) -> dict[str, Any]:
        running = self.task is not None and not self.task.done()
        return {"age_s": round(self.age(), 3) if self.last_turn is not None or self.stall_s else None,
                "state": "restarting" if self.down_since is not None else
                "running" if running else "stopped",
                "failures": self.failures, "failed_turns": self.failed_turns,
                "stall_s": self.stall_s}


# the loop the current task runs, for periodic() to report its turns
CURRENT: contextvars.ContextVar[LoopState | None] = contextvars.ContextVar("callcenter_loop",
                                                                         default=None)


def turned() -> None:
    """The current loop made a successful turn (nothing when not run by a supervisor)."""
    loop = CURRENT.get()
    if loop is not None:
        loop.turned()


def turn_failed() -> None:
    """The current loop's turn failed (the loop goes on)."""
    loop = CURRENT.get()
    if loop is not None:
        loop.failed_turns += 1


class Supervisor:
    """Runs loops in one task group (``async with``); see the module docstring.

    Args:
        metrics: where failures and loop ages are shown.
        max_failures: failures allowed within ``window_s``; one more stops the server.
        window_s: the window over which failures are counted.
        restart_backoff_s: the first wait before a restart (doubling, capped at 30 s).
        clock: monotonic time (injectable for tests).
    """

    def __init__(self, metrics: Metrics | None = None, *, max_failures: int = 3,
                 window_s: float = 60.0, restart_backoff_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._metrics = metrics
        self._max_failures = max_failures
        self._window_s = window_s
        self._backoff_s = restart_backoff_s
        self._clock = clock
        self._group = asyncio.TaskGroup()
        self._loops: dict[str, LoopState] = {}
        self._open = False

    async def __aenter__(self) -> Supervisor:
        await self._group.__aenter__()
        self._open = True
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        """Cancel every loop and wait for them; a loop that failed for good is raised here
        (inside an ExceptionGroup)."""
        self._open = False
        for loop in self._loops.values():
            if loop.task is not None:
                loop.task.cancel()
        await self._group.__aexit__(kind, error, trace)

    def start(self, name: str, factory: LoopFactory, *, restart: bool = True,
              stall_s: float | None = None) -> asyncio.Task[None] | None:
        """Run ``factory()`` as the loop ``name`` (nothing when the supervisor is closing or
        the loop already runs).

        Args:
            restart: start it again after a failure (else the first failure stops the server).
            stall_s: the loop is stalled when its last successful turn is older than this.
        """
        known = self._loops.get(name)
        if not self._open or (known is not None and known.task is not None and not known.task.done()):
            return None
        loop = LoopState(name, self._clock, self._clock(), stall_s)
        if known is not None:
            loop.failures, loop.recent = known.failures, known.recent
        self._loops[name] = loop
        loop.task = self._group.create_task(self._keep(loop, factory, restart), name=name)
        return loop.task

    async def _keep(self, loop: LoopState, factory: LoopFactory, restart: bool) -> None:
        CURRENT.set(loop)
        backoff = self._backoff_s
        while True:
            try:
                await factory()
                return
            except Exception as exc:
                if self._count(loop, exc) or not restart:
                    log.error("loop_failed_for_good", loop=loop.name, failures=len(loop.recent),
                              window_s=self._window_s, restart=restart, error=loop.last_error)
                    raise LoopFailed(loop.name, len(loop.recent), loop.last_error) from exc
                log.exception("background_task_failed", task=loop.name, restart=restart)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
            loop.down_since = None
            log.info("background_task_restarted", task=loop.name)

    def _count(self, loop: LoopState, exc: Exception) -> bool:
        """Record a failure; True when the loop failed too often."""
        now = self._clock()
        loop.failures += 1
        loop.last_error = f"{type(exc).__name__}: {exc}"[:300]
        loop.down_since = now
        loop.recent.append(now)
        while loop.recent and now - loop.recent[0] > self._window_s:
            loop.recent.popleft()
        if self._metrics is not None:
            self._metrics.task_failures.labels(loop.name).inc()
        return len(loop.recent) > self._max_failures

    def liveness(self) -> dict[str, dict[str, Any]]:
        """Each loop's state, failures and the age of its last successful turn."""
        return {name: loop.report() for name, loop in sorted(self._loops.items())}

    def problems(self) -> dict[str, str]:
        """Loops failed and waiting for a restart, or stalled (``task:NAME``, ``loop:NAME``)."""
        now = self._clock()
        out: dict[str, str] = {}
        for name, loop in self._loops.items():
            age = loop.age()
            if loop.down_since is not None:
                out[f"task:{name}"] = f"failed {now - loop.down_since:.0f}s ago: {loop.last_error}"
            elif loop.stall_s is not None and age > loop.stall_s and not _finished(loop):
                out[f"loop:{name}"] = f"no successful turn for {age:.0f}s"
            if self._metrics is not None:
                self._metrics.loop_age.labels(name).set(age)
                for part in (f"task:{name}", f"loop:{name}"):
                    self._metrics.progress_stalled.labels(part).set(1 if part in out else 0)
        return out


def _finished(loop: LoopState) -> bool:
    return loop.task is not None and loop.task.done()
