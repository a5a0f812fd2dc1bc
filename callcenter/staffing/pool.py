"""Staffing computations off the event loop: a small process pool, bounded.

Erlang C for thousands of intervals of a large call center is seconds of pure Python; run on
the event loop it would stall calls in the IVR. :class:`StaffingPool` runs batches in worker
processes (``spawn``: nothing of the server's loop or threads is inherited), at most
``max_workers`` at a time, with at most ``max_waiting`` batches queued behind them (more is
refused with :class:`StaffingBusy`) and a timeout per batch.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from callcenter.staffing.erlang import Staffing, StaffingError, staff_interval


class StaffingBusy(Exception):
    """Too many staffing requests are waiting, or one took too long."""


@dataclass(frozen=True, slots=True)
class IntervalInput:
    calls_per_hour: float
    aht_s: float
    target: float
    within_s: float
    shrinkage: float | None
    max_occupancy: float | None


def staff_all(rows: list[IntervalInput]) -> list[Staffing | str]:
    """Each row's staffing, or the reason it cannot be computed (pure; runs in a worker)."""
    out: list[Staffing | str] = []
    for row in rows:
        try:
            out.append(staff_interval(row.calls_per_hour, row.aht_s, row.target, row.within_s,
                                      row.shrinkage, row.max_occupancy))
        except StaffingError as exc:
            out.append(str(exc))
    return out


class StaffingPool:
    def __init__(self, max_workers: int = 1, max_waiting: int = 4, timeout_s: float = 60.0) -> None:
        self._executor: ProcessPoolExecutor | None = None
        self._max_workers = max_workers
        self._slots = asyncio.Semaphore(max_workers)
        self._max_waiting = max_waiting
        self._waiting = 0
        self._timeout_s = timeout_s

    async def run(self, rows: list[IntervalInput]) -> list[Staffing | str]:
        """Raises:
            StaffingBusy: the queue is full or the batch did not finish in time.
        """
        if self._waiting >= self._max_waiting + self._max_workers:
            raise StaffingBusy("too many staffing requests are being computed; try again shortly")
        self._waiting += 1
        try:
            async with self._slots:
                if self._executor is None:
                    self._executor = ProcessPoolExecutor(
                        self._max_workers, mp_context=multiprocessing.get_context("spawn"))
                future = asyncio.get_running_loop().run_in_executor(self._executor, staff_all, rows)
                try:
                    return await asyncio.wait_for(future, self._timeout_s)
                except TimeoutError:
                    self._restart()
                    raise StaffingBusy(f"the computation took longer than {self._timeout_s:g}s") from None
        finally:
            self._waiting -= 1

    def _restart(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            for process in list(getattr(executor, "_processes", {}).values()):
                process.terminate()
            executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
