"""The demo's background workers (speech-to-text, QA, live speech), each in its own process as in
production, pointed at the demo's database and recordings, and supervised: a worker that dies
(killed, crashed, out of memory) is reported and started again, with a growing pause if it
keeps dying."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from callcenter.metrics import Metrics
from callcenter.settings import Settings

log = structlog.get_logger("callcenter.demo")

Command = Callable[[str], list[str]]


def available_kinds() -> list[str]:
    """The worker kinds installed in this build."""
    return [kind for kind, module in (("asr", "asr.worker"), ("qa", "qa.worker"), ("live", "asr.live_worker"))
            if importlib.util.find_spec(module) is not None]


def worker_env(settings: Settings, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CALLCENTER_STATE_DIR": str(settings.state_dir.resolve()),
        "CALLCENTER_CONFIG_DIR": str(settings.config_dir.resolve()),
        "CALLCENTER_RECORDING_MONITOR_DIR": settings.recording.monitor_dir,
        "CALLCENTER_RECORDING_LOCAL_DIR": settings.recording.local_dir,
        "CALLCENTER_LOG_LEVEL": "warning",
    }


def worker_command(kind: str) -> list[str]:
    return [sys.executable, "-m", "callcenter", "worker", kind]


@dataclass
class _Worker:
    kind: str
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    last_exit: int | None = None
    task: asyncio.Task[None] | None = None
    started_at: float = 0.0


@dataclass
class WorkerSupervisor:
    """Starts one process per kind and keeps it running until :meth:`stop`.

    Args:
        env: the workers' environment (:func:`worker_env`).
        kinds: which workers.
        metrics: ``callcenter_worker_restarts{kind}`` and ``callcenter_worker_up{kind}``.
        command: the command line of a kind (tests run a stand-in).
        restart_min_s / restart_max_s: the pause before a restart doubles while a worker dies
            within a minute of starting, up to the maximum.
    """

    env: dict[str, str]
    kinds: list[str]
    metrics: Metrics | None = None
    command: Command = worker_command
    restart_min_s: float = 1.0
    restart_max_s: float = 30.0
    _workers: dict[str, _Worker] = field(default_factory=dict)
    _stopping: bool = False

    async def start(self) -> None:
        for kind in self.kinds:
            worker = self._workers[kind] = _Worker(kind)
            await self._spawn(worker)
            worker.task = asyncio.create_task(self._keep(worker), name=f"worker-{kind}")

    def statistics(self) -> dict[str, dict[str, Any]]:
        return {k: {"pid": w.proc.pid if w.proc else None, "running": self._running(w),
                    "restarts": w.restarts, "last_exit": w.last_exit}
                for k, w in self._workers.items()}

    def pid(self, kind: str) -> int | None:
        worker = self._workers.get(kind)
        return worker.proc.pid if worker is not None and worker.proc is not None else None

    async def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping = True
        for worker in self._workers.values():
            if worker.proc is not None and worker.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.proc.terminate()
        for worker in self._workers.values():
            if worker.proc is not None:
                try:
                    await asyncio.wait_for(worker.proc.wait(), timeout_s)
                except TimeoutError:
                    worker.proc.kill()
                    await worker.proc.wait()
            if worker.task is not None:
                worker.task.cancel()
        await asyncio.gather(*(w.task for w in self._workers.values() if w.task),
                             return_exceptions=True)

    @staticmethod
    def _running(worker: _Worker) -> bool:
        return worker.proc is not None and worker.proc.returncode is None

    async def _spawn(self, worker: _Worker) -> None:
        proc = await asyncio.create_subprocess_exec(
            *self.command(worker.kind), env=self.env, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            # its own session: Ctrl-C in the terminal reaches the demo, which stops the workers
            # with SIGTERM (they finish their job), not every process at once
            start_new_session=True)
        worker.proc = proc
        worker.started_at = time.monotonic()
        if self.metrics is not None:
            self.metrics.worker_up.labels(worker.kind).set(1)
        log.info("demo_worker_started", kind=worker.kind, pid=proc.pid, restarts=worker.restarts)

    async def _keep(self, worker: _Worker) -> None:
        pause = self.restart_min_s
        while True:
            proc = worker.proc
            assert proc is not None
            await _relay(proc)
            code = await proc.wait()
            worker.last_exit = code
            if self.metrics is not None:
                self.metrics.worker_up.labels(worker.kind).set(0)
            if self._stopping:
                return
            lived = time.monotonic() - worker.started_at
            pause = self.restart_min_s if lived > 60 else min(pause * 2, self.restart_max_s)
            log.error("demo_worker_stopped", kind=worker.kind, pid=proc.pid, exit_code=code,
                      restart_in_s=round(pause, 1))
            await asyncio.sleep(pause)
            if self._stopping:
                return
            worker.restarts += 1
            if self.metrics is not None:
                self.metrics.worker_restarts.labels(worker.kind).inc()
            try:
                await self._spawn(worker)
            except OSError as exc:
                log.error("demo_worker_start_failed", kind=worker.kind, error=str(exc))
                worker.started_at = time.monotonic()


async def _relay(proc: asyncio.subprocess.Process) -> None:
    """Pass the worker's log lines on until it closes its stderr."""
    if proc.stderr is None:
        return
    while line := await proc.stderr.readline():
        sys.stderr.write(line.decode("utf-8", "replace"))
