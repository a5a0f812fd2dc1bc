"""Callback calls in the KPIs: the inbound service figures leave them out, the handling figures
and the callback KPIs count them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from callcenter.kpi.callbacks import callback_kpis
from callcenter.kpi.report import call_kpis, ticket_kpis_by

pytestmark = pytest.mark.integration

DAY = datetime(2026, 4, 6, tzinfo=UTC)
START, END = DAY, DAY + timedelta(days=1)


async def add(pool: asyncpg.Pool, linkedid: str, arrived: datetime, *, outcome: str,
              answered: float | None, ended: float, agent: int, caller: str,
              callback_of: str | None = None, queued: float | None = None) -> None:
    def off(s: float | None) -> datetime | None:
        return None if s is None else arrived + timedelta(seconds=s)

    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, state, outcome, agent_id, arrived_at, queued_at,"
        " answered_at, ended_at, direction, callback_of)"
        " VALUES ($1, $2, 'ended', $3, $4, $5, $6, $7, $8, $9, $10)",
        linkedid, caller, outcome, agent, arrived, off(queued), off(answered), off(ended),
        "callback" if callback_of else "inbound", callback_of)


@pytest.fixture
async def agent(pool: asyncpg.Pool) -> int:
    await pool.execute("TRUNCATE calls, tickets, ticket_history, customers, agents RESTART IDENTITY CASCADE")
    agent_id: int = await pool.fetchval("INSERT INTO agents (login, display_name, dial_string)"
                                        " VALUES ('a1', 'Ann', 'PJSIP/1001') RETURNING id")
    base = DAY + timedelta(hours=9)
    # inbound: answered after 10 s in the queue, talk 100 s; the caller hung up after 60 s
    await add(pool, "in-1", base, outcome="answered", queued=5, answered=15, ended=115, agent=agent_id,
              caller="111")
    await add(pool, "in-2", base + timedelta(minutes=5), outcome="abandoned", queued=5, answered=None,
              ended=65, agent=agent_id, caller="222")
    # the callback of in-2: the customer answered 20 s after the agent was rung, talk 300 s
    await add(pool, "cb-1", base + timedelta(minutes=10), outcome="answered", answered=20, ended=320,
              agent=agent_id, caller="222", callback_of="in-2")
    # a second callback of in-2 an hour later: busy (failed, never an abandon)
    await add(pool, "cb-2", base + timedelta(hours=1), outcome="failed", answered=None, ended=3,
              agent=agent_id, caller="222", callback_of="in-2")
    return agent_id


async def test_inbound_service_figures_leave_callbacks_out(pool: asyncpg.Pool, agent: int) -> None:
    [total] = await call_kpis(pool, START, END)
    assert (total.offered, total.answered, total.abandoned) == (2, 1, 1)
    assert total.asa_s == pytest.approx(10.0)
    assert total.service_level == pytest.approx(1 / 2)  # 1 within 20 s / (1 answered + 1 abandoned)
    # handling: the inbound talk (100 s) and the callback's (300 s)
    assert total.aht_s == pytest.approx(200.0)
    assert total.talk_s == pytest.approx(200.0)
    # FCR: only in-1 is eligible; a callback to 222 is no repeat contact
    assert (total.fcr_eligible, total.fcr_resolved) == (1, 1)
    [by_agent] = await call_kpis(pool, START, END, "agent")
    assert (by_agent.group, by_agent.offered, by_agent.aht_s) == (agent, 2, pytest.approx(200.0))


async def test_callback_kpis_count_the_callback_calls(pool: asyncpg.Pool, agent: int) -> None:
    kpis = await callback_kpis(pool, START, END)
    assert (kpis.attempts, kpis.reached, kpis.unreached) == (2, 1, 1)
    assert kpis.to_json()["talk_s"] == 300.0
    empty = await callback_kpis(pool, END, END + timedelta(days=1))
    assert (empty.attempts, empty.talk_s) == (0, None)


async def test_a_callback_must_name_its_original_call(pool: asyncpg.Pool, agent: int) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("INSERT INTO calls (linkedid, state, arrived_at, direction)"
                           " VALUES ('cb-x', 'talking', now(), 'callback')")
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("INSERT INTO calls (linkedid, state, arrived_at, callback_of)"
                           " VALUES ('in-x', 'talking', now(), 'in-1')")


async def test_given_by_skill_then_a_callback_s_own_call_counts_under_its_callback_s_skill(
        pool: asyncpg.Pool, agent: int) -> None:
    """The callback's call had no IVR (no ``route.skill``): its skill is its callback row's,
    whatever the original call was routed as."""
    await pool.execute("TRUNCATE callbacks")
    await pool.execute("UPDATE calls SET context = '{\"route.skill\": \"refunds\"}' WHERE linkedid = 'in-1'")
    await pool.execute("UPDATE calls SET context = '{\"route.skill\": \"orders\"}' WHERE linkedid = 'in-2'")
    await pool.execute(
        "INSERT INTO callbacks (call_linkedid, status, skill, number, request, enqueued_at, accepted_at)"
        " VALUES ('in-2', 'completed', 'general', '222', '{\"skill\": \"general\"}', 0, now())")
    groups = {row.group: row for row in await call_kpis(pool, START, END, "skill")}
    assert sorted(groups, key=str) == ["general", "orders", "refunds"]
    assert groups["general"].talk_s == pytest.approx(300.0)  # the reached callback, cb-1
    assert (groups["orders"].offered, groups["orders"].abandoned) == (1, 1)  # in-2 itself
    assert groups["refunds"].talk_s == pytest.approx(100.0)


async def test_given_a_callback_row_without_a_skill_then_its_request_s_skill_counts_and_its_tickets_follow(
        pool: asyncpg.Pool, agent: int) -> None:
    """A ``callbacks`` row whose skill column is empty: the skill its request named (what a
    restarted server wraps the callback up with); a ticket made on the callback's own call is
    counted under the same skill as the call."""
    await pool.execute("TRUNCATE callbacks")
    await pool.execute(
        "INSERT INTO callbacks (call_linkedid, status, skill, number, request, enqueued_at, accepted_at)"
        " VALUES ('in-2', 'completed', '', '222', '{\"skill\": \"returns\"}', 0, now())")
    customer = await pool.fetchval("INSERT INTO customers (phone, name) VALUES ('222', 'Bo') RETURNING id")
    call = await pool.fetchval("SELECT id FROM calls WHERE linkedid = 'cb-1'")
    created = DAY + timedelta(hours=9, minutes=12)
    await pool.execute("INSERT INTO tickets (customer_id, kind, status, subject, created_at, updated_at, call_id)"
                       " VALUES ($1, 'refund', 'open', 's', $2, $2, $3)", customer, created, call)
    calls = {row.group: row for row in await call_kpis(pool, START, END, "skill")}
    assert calls["returns"].talk_s == pytest.approx(300.0)
    tickets = {row.group: row for row in await ticket_kpis_by(pool, START, END, END, "skill")}
    assert tickets["returns"].opened == 1 and None not in tickets
