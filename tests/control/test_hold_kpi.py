"""The KPIs' hold time includes the holds the agent made from the console (``calls.hold_s``)."""

from __future__ import annotations

import asyncpg
import pytest

from callcenter.kpi.report import call_kpis
from tests.kpi.test_handling import DAY, add_call, at


async def test_console_holds_count_in_the_kpis_hold_time_inside_talk(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE calls, tickets, ticket_history, orders, customers, agents,"
                       " agent_state_changes RESTART IDENTITY CASCADE")
    await add_call(pool, "k1", at(9), answered=10, ended=310, agent=None, caller="111")
    await add_call(pool, "k2", at(10), answered=10, ended=110, agent=None, caller="222",
                   pauses=[{"start": at(10, 1).isoformat(), "end": at(10, 1, 20).isoformat(),
                            "reason": "hold"}])
    await pool.execute("UPDATE calls SET hold_s = 45.5, hold_count = 2 WHERE linkedid = 'k1'")
    [total] = await call_kpis(pool, DAY, DAY.replace(day=DAY.day + 1))
    assert total.hold_s == pytest.approx((45.5 + 20) / 2)
    assert total.talk_s == pytest.approx((300 + 100) / 2)  # hold is inside talk, not added
    assert total.aht_s == pytest.approx((300 + 100) / 2)
