from __future__ import annotations

import pytest

from callcenter.clock import ScaledClock, WallClock, clock_for


async def test_scaled_clock_runs_faster_than_real_time() -> None:
    clock = ScaledClock(100.0)
    start = clock.now()
    await clock.sleep(5.0)  # 50 ms of real time
    assert clock.now() - start >= 5.0


def test_speed_one_is_the_wall_clock_and_bad_speed_is_refused() -> None:
    assert isinstance(clock_for(1), WallClock)
    with pytest.raises(ValueError):
        ScaledClock(0)
