"""The demo's background workers (speech-to-text, QA), each in its own process as in
production, pointed at the demo's database and recordings."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import sys

import structlog

from callcenter.settings import Settings

log = structlog.get_logger("callcenter.demo")


def available_kinds() -> list[str]:
    """The worker kinds installed in this build."""
    return [kind for kind, module in (("asr", "asr.worker"), ("qa", "qa.worker"))
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


async def start_workers(settings: Settings, database_url: str,
                        kinds: list[str] | None = None) -> list[asyncio.subprocess.Process]:
    procs = []
    for kind in kinds if kinds is not None else available_kinds():
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "callcenter", "worker", kind, env=worker_env(settings, database_url),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            # its own session: Ctrl-C in the terminal reaches the demo, which stops the workers
            # with SIGTERM (they finish their job), not every process at once
            start_new_session=True)
        log.info("demo_worker_started", kind=kind, pid=proc.pid)
        asyncio.get_running_loop().create_task(_relay(kind, proc))
        procs.append(proc)
    return procs


async def _relay(kind: str, proc: asyncio.subprocess.Process) -> None:
    """Pass the worker's log lines on, and say when it stops."""
    assert proc.stderr is not None
    while line := await proc.stderr.readline():
        sys.stderr.write(line.decode("utf-8", "replace"))
    code = await proc.wait()
    if code not in (0, -15):
        log.error("demo_worker_stopped", kind=kind, exit_code=code)


async def stop_workers(procs: list[asyncio.subprocess.Process], timeout_s: float = 10.0) -> None:
    for proc in procs:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
    for proc in procs:
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
