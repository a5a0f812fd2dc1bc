"""``periodic()``: turns on an interval, failures logged once per outage, a backoff that only its
own event cuts short, successful turns reported to the supervisor."""

from __future__ import annotations

import asyncio
import time

import pytest
import structlog

from callcenter.runtime.periodic import Backoff, periodic
from callcenter.runtime.supervisor import Supervisor


def test_given_failures_in_a_row_then_the_backoff_doubles_up_to_its_cap() -> None:
    assert [Backoff(0.2, 5.0).after(n) for n in range(1, 8)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert [Backoff(1.0).after(n) for n in (1, 2, 50)] == [1.0, 1.0, 1.0]


async def test_given_a_turn_failing_for_a_while_then_it_is_logged_once_and_the_recovery_too() -> None:
    results = iter([OSError("down"), OSError("down"), OSError("down"), None, None])
    turns: list[int] = []

    async def turn() -> None:
        turns.append(1)
        outcome = next(results, None)
        if outcome is not None:
            raise outcome

    with structlog.testing.capture_logs() as logs:
        await periodic("writer", 0.0, turn, until=lambda: len(turns) >= 5)
    events = [(e["event"], e.get("failed_turns")) for e in logs]
    assert events == [("loop_turn_failed", None), ("loop_recovered", 3)]


async def test_given_a_failure_it_does_not_expect_then_it_leaves_the_loop() -> None:
    async def turn() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await periodic("writer", 0.0, turn, retry_on=(OSError,))


async def test_given_a_wake_then_the_wait_is_cut_short_and_the_wake_cleared_before_the_turn() -> None:
    wake = asyncio.Event()
    seen: list[bool] = []

    async def turn() -> None:
        seen.append(wake.is_set())

    loop = asyncio.create_task(periodic("sweep", 3600.0, turn, wake=wake, until=lambda: len(seen) >= 2))
    await asyncio.sleep(0.01)
    assert seen == []
    wake.set()
    await asyncio.sleep(0.01)
    assert seen == [False]
    wake.set()
    await asyncio.wait_for(loop, 1)
    assert seen == [False, False]


async def test_given_a_backoff_then_the_loops_own_wake_does_not_cut_it_short() -> None:
    wake = asyncio.Event()
    retry = asyncio.Event()
    turns: list[float] = []

    async def turn() -> None:
        turns.append(time.monotonic())
        if len(turns) == 1:
            raise OSError("down")

    loop = asyncio.create_task(periodic("events", 0.0, turn, wake=wake, first_wait=False,
                                        backoff=Backoff(3600.0, wake=retry), until=lambda: len(turns) >= 2))
    await asyncio.sleep(0.01)
    wake.set()
    await asyncio.sleep(0.05)
    assert len(turns) == 1  # rows arriving do not turn the backoff into a spin
    retry.set()
    await asyncio.wait_for(loop, 1)
    assert len(turns) == 2


async def test_given_a_supervised_periodic_loop_then_only_successful_turns_count_as_alive() -> None:
    now = [100.0]
    fail = [False]

    async def turn() -> None:
        if fail[0]:
            raise OSError("down")

    async with Supervisor(clock=lambda: now[0]) as supervisor:
        supervisor.start("writer", lambda: periodic("writer", 0.001, turn), stall_s=10.0)
        await asyncio.sleep(0.05)
        assert supervisor.liveness()["writer"]["age_s"] == 0.0
        fail[0] = True
        await asyncio.sleep(0.05)
        now[0] = 111.0
        assert supervisor.liveness()["writer"]["failed_turns"] > 0
        assert "loop:writer" in supervisor.problems()
        fail[0] = False
        await asyncio.sleep(0.05)
        assert supervisor.problems() == {}
