"""``callcenter staffing`` as users run it: a separate process, JSON on stdout."""

from __future__ import annotations

import json
import subprocess
import sys

from callcenter.staffing.erlang import staff_interval


def test_the_command_prints_the_staffing_json() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "callcenter", "staffing", "--calls-per-hour", "240", "--aht", "180",
         "--target", "0.8", "--within", "20"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"agents", "service_level", "asa_s", "occupancy"}
    # the worked example of docs/staffing.md: 12 Erlangs, 16 agents
    assert out == {"agents": 16, "service_level": 0.8688, "asa_s": 9.21, "occupancy": 0.75}
    expected = staff_interval(240, 180, 0.8, 20)
    assert out["agents"] == expected.agents


def test_bad_input_exits_2_with_a_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "callcenter", "staffing", "--calls-per-hour", "-5", "--aht", "180",
         "--target", "0.8", "--within", "20"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "calls per hour" in done.stderr and done.stdout == ""
