"""What the product got wrong when it first met the real PBX, proven through the simulator.

Each test runs the whole server against the PBX simulator (``sim_harness.running``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.routing.sim_harness import EN_CUSTOMERS, agent_entry, caller, phone, running

pytestmark = pytest.mark.integration

REFUNDS = {"steps": [{"after_s": 0, "min_level": 1}]}
POLICY = {"defaults": {"ring_timeout_s": 15, "wrap_up_s": 3}, "skills": {"refunds": REFUNDS}}


@pytest.fixture
def fresh_db(new_database: Callable[[], str]) -> str:
    return new_database()


async def test_answered_call_with_the_survey_gives_asterisk_no_option_warning(
        fresh_db: str, tmp_path: Path) -> None:
    agents = [agent_entry("rita", "1002", {"refunds": 3})]
    async with running(tmp_path, fresh_db, policy=POLICY, agents=agents,
                       phones=[phone("1002", hangup_after_s=5.0)]) as h:
        h.call(caller(EN_CUSTOMERS[0]))
        await h.wait_for(lambda: bool(h.probe.offers()), 60, "offer")
        rows = await h.finish()
        assert h.simulator.pbx.warnings == []
    [row] = rows
    assert row["outcome"] == "answered"
