"""KPIs across a transfer: talk is each agent's leg (the caller's wait for the next agent is not
talk), transfers are counted per call, and the call stays one contact."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from callcenter.kpi.report import call_kpis
from tests.kpi.test_handling import END, START, add_call, at

pytestmark = pytest.mark.integration


async def test_a_transferred_calls_talk_is_the_sum_of_its_agents_legs(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE calls, agents, agent_state_changes RESTART IDENTITY CASCADE")
    a1 = await pool.fetchval("INSERT INTO agents (login, display_name, dial_string)"
                             " VALUES ('a1', 'Ann', 'PJSIP/1001') RETURNING id")
    a2 = await pool.fetchval("INSERT INTO agents (login, display_name, dial_string)"
                             " VALUES ('a2', 'Bob', 'PJSIP/1002') RETURNING id")
    # answered at +10 s; a1 talks 100 s, transfers; the caller waits 50 s; a2 talks 200 s
    call = await add_call(pool, "t1", at(9), answered=10, ended=360, agent=a2, caller="111")
    await pool.execute("UPDATE calls SET transfers = 1 WHERE id = $1", call)
    for uid, agent, start, end, how in (("l1", a1, 10, 110, "transfer"), ("l2", a2, 160, 360, "hangup")):
        await pool.execute(
            "INSERT INTO call_legs (call_id, uniqueid, channel, role, created_at, answered_at,"
            " talk_started_at, ended_at, agent_id, ended_how)"
            " VALUES ($1, $2, 'PJSIP/x', 'agent', $3, $3, $3, $4, $5, $6)", call, uid,
            at(9) + timedelta(seconds=start), at(9) + timedelta(seconds=end), agent, how)
    # a plain call without legs (stored before legs existed): talk from answer to end
    await add_call(pool, "p1", at(10), answered=5, ended=65, agent=a1, caller="222")

    [total] = await call_kpis(pool, START, END)
    assert total.talk_s == pytest.approx((300 + 60) / 2)
    assert total.transfers == 1 and total.transfers_per_call == pytest.approx(0.5)
    assert total.answered == 2 and total.offered == 2
