"""Handling time (talk, hold, wrap-up), queues, first-contact resolution by order, QA averages
and tickets per group, on a hand-made history with known answers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from callcenter.kpi.report import call_kpis, ticket_kpis_by

pytestmark = pytest.mark.integration

DAY = datetime(2026, 4, 6, tzinfo=UTC)
START, END = DAY, DAY + timedelta(days=1)


def at(hh: int, mm: int = 0, ss: int = 0, day: datetime = DAY) -> datetime:
    return day + timedelta(hours=hh, minutes=mm, seconds=ss)


async def add_call(pool: asyncpg.Pool, linkedid: str, arrived: datetime, *, answered: float | None,
                   ended: float, agent: int | None, caller: str, skill: str = "returns",
                   language: str = "en", order: str | None = None, outcome: str = "answered",
                   pauses: list[dict[str, str | None]] | None = None) -> int:
    context = {"route.skill": skill, "language": language}
    if order:
        context["order_number"] = order
    call_id: int = await pool.fetchval(
        "INSERT INTO calls (linkedid, caller_number, state, outcome, agent_id, arrived_at, queued_at,"
        " answered_at, ended_at, context, recording_pauses)"
        " VALUES ($1, $2, 'ended', $3, $4, $5, $5, $6, $7, $8::jsonb, $9::jsonb) RETURNING id",
        linkedid, caller, outcome, agent, arrived,
        None if answered is None else arrived + timedelta(seconds=answered),
        arrived + timedelta(seconds=ended), json.dumps(context), json.dumps(pauses or []))
    return call_id


async def state(pool: asyncpg.Pool, agent: int, name: str, when: datetime, call: str = "") -> None:
    await pool.execute("INSERT INTO agent_state_changes (agent_id, state, call_id, at, reason)"
                       " VALUES ($1, $2, $3, $4, $5)", agent, name, call, when,
                       "break" if name == "paused" else "")


@pytest.fixture
async def history(pool: asyncpg.Pool) -> dict[str, int]:
    await pool.execute("TRUNCATE calls, tickets, ticket_history, orders, customers, agents,"
                       " agent_state_changes RESTART IDENTITY CASCADE")
    a1 = await pool.fetchval("INSERT INTO agents (login, display_name, dial_string)"
                             " VALUES ('a1', 'Ann', 'PJSIP/1001') RETURNING id")
    a2 = await pool.fetchval("INSERT INTO agents (login, display_name, dial_string)"
                             " VALUES ('a2', 'Bob', 'PJSIP/1002') RETURNING id")
    customer = await pool.fetchval("INSERT INTO customers (phone, name) VALUES ('111', 'C') RETURNING id")
    order_b = await pool.fetchval(
        "INSERT INTO orders (order_number, customer_id, status, total_cents, placed_at)"
        " VALUES ('20000002', $1, 'delivered', 100, $2) RETURNING id", customer, DAY - timedelta(days=9))
    # h1: a1, talk 300 s with a 40 s hold (and a 10 s payment pause, not hold), wrap-up 60 s
    # (the wrap_up row names the call). About order 10000001; caller 111 calls again at 12:00
    # about another order: still resolved.
    await add_call(pool, "h1", at(9), answered=10, ended=310, agent=a1, caller="111", order="10000001",
                   pauses=[{"start": at(9, 1).isoformat(), "end": at(9, 1, 40).isoformat(), "reason": "hold"},
                           {"start": at(9, 2).isoformat(), "end": at(9, 2, 10).isoformat(),
                            "reason": "payment"},
                           {"start": at(9, 3).isoformat(), "end": None, "reason": "hold"}])
    await state(pool, a1, "talking", at(9, 0, 10), "h1")
    await state(pool, a1, "wrap_up", at(9, 5, 10), "h1")
    await state(pool, a1, "ready", at(9, 6, 10))
    # h2: a2, talk 100 s, wrap-up row without a call id 2 s after the end, 20 s long. A ticket
    # about order 20000002 is created on it; h4 (another number) keys in that order: a repeat.
    h2 = await add_call(pool, "h2", at(10), answered=20, ended=120, agent=a2, caller="222",
                        skill="delivery", language="zh")
    await pool.execute("INSERT INTO tickets (customer_id, order_id, call_id, kind, subject, created_at)"
                       " VALUES ($1, $2, $3, 'return', 's', $4)", customer, order_b, h2, at(10, 2))
    await state(pool, a2, "wrap_up", at(10, 2, 2))
    await state(pool, a2, "ready", at(10, 2, 22))
    # h3: a1, talk 200 s, no wrap-up at all; no order, caller 333 never calls again: resolved
    await add_call(pool, "h3", at(11), answered=5, ended=205, agent=a1, caller="333")
    # h4: a2, talk 50 s, still in wrap-up (no later state change): wrap-up not counted
    await add_call(pool, "h4", at(11, 30), answered=10, ended=60, agent=a2, caller="444",
                   skill="delivery", language="zh", order="20000002")
    await state(pool, a2, "wrap_up", at(11, 31), "h4")
    # h5: caller 111 about another order, answered: resolved (no later call)
    await add_call(pool, "h5", at(12), answered=10, ended=110, agent=a1, caller="111", order="30000003")
    # a wrap_up of a1 an hour later names no call: belongs to no call above
    await state(pool, a1, "wrap_up", at(13))
    await state(pool, a1, "ready", at(13, 5))
    return {"a1": a1, "a2": a2, "customer": customer, "order_b": order_b}


async def test_handling_time_is_talk_plus_wrap_up_with_hold_reported_inside_talk(
        pool: asyncpg.Pool, history: dict[str, int]) -> None:
    [total] = await call_kpis(pool, START, END)
    assert total.answered == 5
    assert total.talk_s == pytest.approx((300 + 100 + 200 + 50 + 100) / 5)
    assert total.hold_s == pytest.approx(40 / 5)  # only h1's closed "hold" pause
    assert total.wrap_up_s == pytest.approx((60 + 20) / 5)
    assert total.aht_s == pytest.approx((360 + 120 + 200 + 50 + 100) / 5)


async def test_by_agent_and_queue(pool: asyncpg.Pool, history: dict[str, int]) -> None:
    agents = {r.group: r for r in await call_kpis(pool, START, END, "agent")}
    assert agents[history["a1"]].aht_s == pytest.approx((360 + 200 + 100) / 3)
    assert agents[history["a1"]].wrap_up_s == pytest.approx(20.0)
    assert agents[history["a2"]].aht_s == pytest.approx((120 + 50) / 2)
    queues = await call_kpis(pool, START, END, "queue")
    assert [(r.group, r.offered) for r in queues] == [("delivery/zh", 2), ("returns/en", 3)]


async def test_first_contact_resolution_follows_the_order_not_only_the_number(
        pool: asyncpg.Pool, history: dict[str, int]) -> None:
    [total] = await call_kpis(pool, START, END)
    # h1 (order 1; 111 calls back about order 3: not a repeat) resolved; h2 (ticket's order
    # 20000002, repeated by h4 from another number) not; h3 (number only) resolved; h4, h5 resolved
    assert (total.fcr_eligible, total.fcr_resolved) == (5, 4)
    queues = {r.group: r for r in await call_kpis(pool, START, END, "queue")}
    assert (queues["delivery/zh"].fcr_resolved, queues["delivery/zh"].fcr_rate) == (1, 0.5)


async def test_a_later_call_from_the_same_number_without_an_order_is_a_repeat(
        pool: asyncpg.Pool, history: dict[str, int]) -> None:
    await add_call(pool, "h6", at(15), answered=None, ended=30, agent=None, caller="111",
                   outcome="abandoned")
    [total] = await call_kpis(pool, START, END)
    # h6 names no order and comes from 111: h1 and h5 are both repeated now
    assert (total.fcr_eligible, total.fcr_resolved) == (5, 2)


async def test_qa_average_is_none_without_results(pool: asyncpg.Pool, history: dict[str, int]) -> None:
    [total] = await call_kpis(pool, START, END)
    assert (total.qa_count, total.qa_avg) == (0, None)


async def test_qa_average_over_scored_calls(pool: asyncpg.Pool, history: dict[str, int]) -> None:
    ids = {r["linkedid"]: r["id"] for r in await pool.fetch("SELECT id, linkedid FROM calls")}
    await pool.executemany(
        "INSERT INTO qa_results (call_id, scorecard, version, total, final_score, items)"
        " VALUES ($1, 'aftersales', 1, $2, $3, '[]')", [(ids["h1"], 90, 80), (ids["h3"], 70, 70)])
    try:
        [total] = await call_kpis(pool, START, END)
        # the reviewed (final) score counts, not the machine's
        assert (total.qa_count, total.qa_avg) == (2, pytest.approx((80 + 70) / 2))
    finally:
        await pool.execute("DELETE FROM qa_results")


async def test_tickets_per_group_count_missed_reply_deadlines(pool: asyncpg.Pool,
                                                              history: dict[str, int]) -> None:
    customer, a1 = history["customer"], history["a1"]
    h2 = await pool.fetchval("SELECT id FROM calls WHERE linkedid = 'h2'")

    async def ticket(status: str, created: datetime, due: datetime | None, owner: int | None = None,
                     call: int | None = None, closed: datetime | None = None) -> None:
        ticket_id = await pool.fetchval(
            "INSERT INTO tickets (customer_id, kind, status, subject, reply_due_at, created_at,"
            " updated_at, owner_agent_id, call_id) VALUES ($1, 'complaint', $2, 's', $3, $4, $4, $5, $6)"
            " RETURNING id", customer, status, due, created, owner, call)
        if closed is not None:
            await pool.execute("INSERT INTO ticket_history (ticket_id, at, actor, field, new_value)"
                               " VALUES ($1, $2, 'x', 'status', 'resolved')", ticket_id, closed)

    await ticket("open", at(8), at(12), owner=a1)                    # missed (still open at 12:00)
    await ticket("resolved", at(8), at(14), owner=a1, closed=at(15))  # closed late: missed
    await ticket("resolved", at(9), at(14), call=h2, closed=at(13))   # closed in time
    await ticket("open", at(9), at(23, 30))                           # due after now: not yet
    now = at(20)
    [total] = await ticket_kpis_by(pool, START, END, now)
    # opened: 4 above + the one created on h2 in the fixture
    assert (total.opened, total.closed, total.missed_deadline) == (5, 2, 2)
    by_agent = {r.group: r for r in await ticket_kpis_by(pool, START, END, now, "agent")}
    assert (by_agent[a1].opened, by_agent[a1].closed, by_agent[a1].missed_deadline) == (2, 1, 2)
    by_skill = {r.group: r for r in await ticket_kpis_by(pool, START, END, now, "skill")}
    assert (by_skill["delivery"].opened, by_skill["delivery"].closed) == (2, 1)
    by_hour = {r.group: r for r in await ticket_kpis_by(pool, START, END, now, "hour")}
    assert by_hour[datetime(2026, 4, 6, 12)].missed_deadline == 1
    assert by_hour[datetime(2026, 4, 6, 15)].closed == 1
    [day] = [r for r in await ticket_kpis_by(pool, START, END, now, "day")]
    assert (day.group, day.opened) == (date(2026, 4, 6), 5)
