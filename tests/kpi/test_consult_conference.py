"""KPIs across a consult transfer and a three-way conference, on crafted legs: a consult is a
transfer of the agent who made it, the colleague's part belongs to the call's skill, a
three-way's overlapping talk counts once for the call, and nobody's wait is negative."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from callcenter.kpi.report import call_kpis
from tests.kpi.test_handling import END, START, add_call, at

pytestmark = pytest.mark.integration

Leg = tuple[str, int, int, int, str, str | None]  # uniqueid, agent, talk from, to (s), how, to


async def agents(pool: asyncpg.Pool) -> tuple[int, int]:
    await pool.execute("TRUNCATE calls, agents, agent_state_changes RESTART IDENTITY CASCADE")
    ids = [await pool.fetchval("INSERT INTO agents (login, display_name, dial_string)"
                               f" VALUES ('a{i}', 'Agent {i}', 'PJSIP/100{i}') RETURNING id")
           for i in (1, 2)]
    return ids[0], ids[1]


async def add_legs(pool: asyncpg.Pool, call: int, legs: list[Leg]) -> None:
    for uid, agent, start, end, how, to in legs:
        await pool.execute(
            "INSERT INTO call_legs (call_id, uniqueid, channel, role, created_at, answered_at,"
            " talk_started_at, ended_at, agent_id, ended_how, transferred_to)"
            " VALUES ($1, $2, 'PJSIP/x', 'agent', $3, $3, $3, $4, $5, $6, $7)", call, uid,
            at(9) + timedelta(seconds=start), at(9) + timedelta(seconds=end), agent, how, to)


async def test_a_consult_transfer_counts_for_the_agent_and_the_colleague_keeps_the_skill(
        pool: asyncpg.Pool) -> None:
    """a1 answers at +10 s, consults a2 (the caller holds) and completes at +110 s: a2 talks
    with the caller until +300 s. The call counts one transfer: a1's, under the call's skill,
    and a2's part is the call's skill too (the consult named a colleague, not a skill)."""
    a1, a2 = await agents(pool)
    call = await add_call(pool, "c1", at(9), answered=10, ended=300, agent=a2, caller="111",
                          skill="general")
    await pool.execute("UPDATE calls SET transfers = 1 WHERE id = $1", call)
    await add_legs(pool, call, [("l1", a1, 10, 110, "consult", "a2"),
                                ("l2", a2, 110, 300, "hangup", None)])

    by_agent = {r.group: r for r in await call_kpis(pool, START, END, "agent")}
    assert (by_agent[a1].transfers, by_agent[a1].transfers_external) == (1, 0)
    assert by_agent[a2].transfers == 0
    assert sum(r.transfers for r in by_agent.values()) == 1  # as calls.transfers says
    assert by_agent[a2].asa_s == pytest.approx(0)
    by_skill = {r.group: r for r in await call_kpis(pool, START, END, "skill")}
    assert set(by_skill) == {"general"}, set(by_skill)
    assert (by_skill["general"].answered, by_skill["general"].transfers) == (2, 1)
    assert by_skill["general"].talk_s == pytest.approx((100 + 190) / 2)
    [total] = await call_kpis(pool, START, END)
    assert total.transfers == 1 and total.talk_s == pytest.approx(290)


async def test_a_three_way_counts_overlapping_talk_once_and_no_wait_is_negative(
        pool: asyncpg.Pool) -> None:
    """a1 answers at +10 s and brings a2 into a three-way at +120 s; a1 leaves at +200 s, a2
    talks on until +300 s. The caller was talked to for 290 s (not 190 + 180 s); a2 waited
    nothing once the conference began (not -80 s from a1's leaving); not a transfer."""
    a1, a2 = await agents(pool)
    call = await add_call(pool, "k1", at(9), answered=10, ended=300, agent=a2, caller="111",
                          skill="general")
    await add_legs(pool, call, [("l1", a1, 10, 200, "conference", None),
                                ("l2", a2, 120, 300, "hangup", None)])

    [total] = await call_kpis(pool, START, END)
    assert total.talk_s == pytest.approx(290)
    assert (total.transfers, total.answered) == (0, 1)
    assert total.asa_s == pytest.approx(10)
    by_agent = {r.group: r for r in await call_kpis(pool, START, END, "agent")}
    assert (by_agent[a1].talk_s, by_agent[a2].talk_s) == (190, 180)
    assert by_agent[a2].asa_s == pytest.approx(0)
    assert by_agent[a1].asa_s == pytest.approx(10)
    assert (by_agent[a1].transfers, by_agent[a2].transfers) == (0, 0)
    assert (by_agent[a1].fcr_eligible, by_agent[a2].fcr_eligible) == (0, 1)  # a2 finished it
    by_skill = {r.group: r for r in await call_kpis(pool, START, END, "skill")}
    assert set(by_skill) == {"general"}


async def test_the_part_whose_leg_ended_last_finished_a_three_way(pool: asyncpg.Pool) -> None:
    """a2 joins a1's call in a three-way at +120 s and leaves at +150 s; a1 talks on to +300 s
    and finishes the call: first-contact resolution goes to a1's part."""
    a1, a2 = await agents(pool)
    call = await add_call(pool, "k2", at(9), answered=10, ended=300, agent=a1, caller="111",
                          skill="general")
    await add_legs(pool, call, [("l1", a1, 10, 300, "conference", None),
                                ("l2", a2, 120, 150, "hangup", None)])
    by_agent = {r.group: r for r in await call_kpis(pool, START, END, "agent")}
    assert (by_agent[a1].fcr_eligible, by_agent[a2].fcr_eligible) == (1, 0)
    assert by_agent[a2].asa_s == pytest.approx(0)
    [total] = await call_kpis(pool, START, END)
    assert total.talk_s == pytest.approx(290)
