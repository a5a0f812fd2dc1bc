"""The demo supervises its worker processes: a killed worker is reported and started again."""

from __future__ import annotations

import os
import signal
import sys

from callcenter.demo.workers import WorkerSupervisor
from callcenter.metrics import Metrics
from tests.helpers.polling import wait_until


def stand_in(kind: str) -> list[str]:
    return [sys.executable, "-c", f"import time; print('{kind} up', flush=True); time.sleep(3600)"]


async def test_a_killed_worker_is_restarted_and_reported() -> None:
    metrics = Metrics()
    supervisor = WorkerSupervisor(dict(os.environ), ["asr", "qa"], metrics, command=stand_in,
                                  restart_min_s=0.05)
    await supervisor.start()
    try:
        first = supervisor.pid("asr")
        assert first is not None and supervisor.statistics()["asr"]["running"]
        os.kill(first, signal.SIGKILL)
        await wait_until(lambda: supervisor.pid("asr") not in (None, first)
                         and supervisor.statistics()["asr"]["running"], timeout_s=10)
        stats = supervisor.statistics()
        assert stats["asr"]["restarts"] == 1 and stats["asr"]["last_exit"] == -signal.SIGKILL
        assert stats["qa"]["restarts"] == 0
        assert metrics.registry.get_sample_value("callcenter_worker_restarts_total", {"kind": "asr"}) == 1
        assert metrics.registry.get_sample_value("callcenter_worker_up", {"kind": "asr"}) == 1
    finally:
        await supervisor.stop()
    assert not supervisor.statistics()["asr"]["running"]
    assert supervisor.statistics()["asr"]["restarts"] == 1  # stopping is not a death
