"""KPIs across a transfer: talk is each agent's leg (the caller's wait for the next agent is not
talk), transfers are counted per call, and the call stays one contact."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from callcenter.calls.agent_legs import agent_legs
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


async def add_legs(pool: asyncpg.Pool, call: int, legs: list[tuple[str, int, int, int, str,
                                                                    str | None]]) -> None:
    for uid, agent, start, end, how, to in legs:
        await pool.execute(
            "INSERT INTO call_legs (call_id, uniqueid, channel, role, created_at, answered_at,"
            " talk_started_at, ended_at, agent_id, ended_how, transferred_to)"
            " VALUES ($1, $2, 'PJSIP/x', 'agent', $3, $3, $3, $4, $5, $6, $7)", call, uid,
            at(9) + timedelta(seconds=start), at(9) + timedelta(seconds=end), agent, how, to)


async def two_agents(pool: asyncpg.Pool) -> tuple[int, int]:
    await pool.execute("TRUNCATE calls, agents, agent_state_changes RESTART IDENTITY CASCADE")
    ids = [await pool.fetchval("INSERT INTO agents (login, display_name, dial_string)"
                               f" VALUES ('a{i}', 'Agent {i}', 'PJSIP/100{i}') RETURNING id")
           for i in (1, 2)]
    return ids[0], ids[1]


async def test_by_agent_each_agent_counts_their_own_part_of_a_transferred_call(
        pool: asyncpg.Pool) -> None:
    """a1 talks 100 s and transfers to refunds (then 20 s of wrap-up); the caller waits 50 s;
    a2 talks 200 s and hangs up (30 s of wrap-up). Today's stored call names a2 only."""
    a1, a2 = await two_agents(pool)
    call = await add_call(pool, "t1", at(9), answered=10, ended=360, agent=a2, caller="111",
                          skill="general")
    await pool.execute("UPDATE calls SET transfers = 1 WHERE id = $1", call)
    await add_legs(pool, call, [("l1", a1, 10, 110, "transfer", "refunds"),
                                ("l2", a2, 160, 360, "hangup", None)])
    for agent, start, end in ((a1, 110, 130), (a2, 360, 390)):
        for state, when in (("wrap_up", start), ("ready", end)):
            await pool.execute("INSERT INTO agent_state_changes (agent_id, state, at, call_id)"
                               " VALUES ($1, $2, $3, $4)", agent, state,
                               at(9) + timedelta(seconds=when), "t1" if state == "wrap_up" else "")

    rows = {r.group: r for r in await call_kpis(pool, START, END, "agent")}
    first, second = rows[a1], rows[a2]
    assert (first.answered, first.talk_s, first.wrap_up_s, first.aht_s) == (1, 100, 20, 120)
    assert (first.transfers, first.transfers_external, first.fcr_eligible) == (1, 0, 0)
    assert (second.answered, second.talk_s, second.wrap_up_s, second.aht_s) == (1, 200, 30, 230)
    assert (second.transfers, second.fcr_eligible, second.fcr_resolved) == (0, 1, 1)
    assert second.asa_s == pytest.approx(50)  # waited from a1's transfer to a2's talk
    assert first.asa_s == pytest.approx(10)
    # by skill: a1's part under the call's skill, a2's under the skill a1 transferred to
    skills = {r.group: r for r in await call_kpis(pool, START, END, "skill")}
    assert (skills["general"].talk_s, skills["general"].transfers) == (100, 1)
    assert (skills["refunds"].talk_s, skills["refunds"].transfers) == (200, 0)
    # the whole call is still one contact
    [total] = await call_kpis(pool, START, END)
    assert (total.offered, total.answered, total.transfers, total.fcr_eligible) == (1, 1, 1, 1)


async def test_an_outside_transfer_counts_as_an_external_transfer_of_the_agent(
        pool: asyncpg.Pool) -> None:
    a1, _ = await two_agents(pool)
    call = await add_call(pool, "t2", at(9), answered=10, ended=300, agent=a1, caller="111")
    await pool.execute("UPDATE calls SET transfers = 1 WHERE id = $1", call)
    await add_legs(pool, call, [("l1", a1, 10, 70, "transfer", "external:+********0100")])
    [agent] = await call_kpis(pool, START, END, "agent")
    assert (agent.group, agent.talk_s, agent.transfers, agent.transfers_external) == (a1, 60, 1, 1)
    [total] = await call_kpis(pool, START, END)
    assert (total.transfers, total.transfers_external, total.abandoned) == (1, 1, 0)


async def test_each_agents_part_is_placed_in_the_calls_recording(pool: asyncpg.Pool) -> None:
    """QA finds each agent's part of a transferred call in its one mixed recording."""
    a1, a2 = await two_agents(pool)
    call = await add_call(pool, "t3", at(9), answered=10, ended=360, agent=a2, caller="111")
    await add_legs(pool, call, [("l1", a1, 10, 110, "transfer", "refunds"),
                                ("l2", a2, 160, 360, "hangup", None)])
    for kind, path in (("mixed", "/r/t3.wav"), ("agent", "/r/t3-agent.wav")):
        await pool.execute("INSERT INTO recordings (call_id, kind, path, started_at, status)"
                           " VALUES ($1, $2, $3, $4, 'recording')", call, kind, path,
                           at(9) + timedelta(seconds=12))
    legs = await agent_legs(pool, call)
    assert [(leg["agent"], leg["recording_from_s"], leg["recording_to_s"], leg["talk_s"])
            for leg in legs] == [("a1", 0.0, 98.0, 100.0), ("a2", 148.0, 348.0, 200.0)]
