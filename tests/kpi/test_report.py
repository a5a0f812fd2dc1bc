"""Service KPIs on a hand-made call and ticket history with known answers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from callcenter.kpi.report import KpiError, call_kpis, service_level, ticket_kpis

pytestmark = pytest.mark.integration

DAY = datetime(2026, 3, 2, tzinfo=UTC)
START, END = DAY, DAY + timedelta(days=1)
NOW = DAY + timedelta(hours=12)


def at(hh: int, mm: int = 0, day: datetime = DAY) -> datetime:
    return day + timedelta(hours=hh, minutes=mm)


async def add_call(pool: asyncpg.Pool, linkedid: str, arrived: datetime, *, queued: float | None = None,
                   answered: float | None = None, ended: float | None = None, outcome: str | None = None,
                   agent: int | None = None, skill: str | None = None, caller: str | None = None,
                   csat: int | None = None, state: str = "ended") -> None:
    """Offsets are seconds after ``arrived``."""
    def off(s: float | None) -> datetime | None:
        return None if s is None else arrived + timedelta(seconds=s)

    context = json.dumps({"route.skill": skill, "route.priority": 0} if skill else {})
    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, state, outcome, agent_id, arrived_at, queued_at,"
        " answered_at, ended_at, csat, context) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11::jsonb)",
        linkedid, caller, state, outcome, agent, arrived, off(queued), off(answered), off(ended), csat,
        context)


@pytest.fixture
async def history(pool: asyncpg.Pool) -> dict[str, int]:
    await pool.execute("TRUNCATE calls, tickets, ticket_history, customers, agents RESTART IDENTITY CASCADE")
    a1 = await pool.fetchval("INSERT INTO agents (login, display_name, dial_string)"
                             " VALUES ('a1', 'Ann', 'PJSIP/1001') RETURNING id")
    a2 = await pool.fetchval("INSERT INTO agents (login, display_name, dial_string)"
                             " VALUES ('a2', 'Bob', 'PJSIP/1002') RETURNING id")
    # answered in 15 s of queueing, talk 300 s; caller 111 calls again at 10:30 (not FCR)
    await add_call(pool, "c1", at(9), queued=10, answered=25, ended=325, outcome="answered", agent=a1,
                   skill="returns", caller="111", csat=5)
    # answered after 40 s (misses 20 s), talk 200 s; caller 222 calls again 3 days later (not FCR)
    await add_call(pool, "c2", at(9, 10), queued=10, answered=50, ended=250, outcome="answered", agent=a2,
                   skill="returns", caller="222", csat=3)
    # abandoned after 3 s in the queue: a short abandon (the 10 s in the IVR do not count)
    await add_call(pool, "c3", at(9, 20), queued=10, ended=13, outcome="abandoned", skill="delivery",
                   caller="333")
    # abandoned after 60 s in the queue
    await add_call(pool, "c4", at(10, 5), queued=5, ended=65, outcome="abandoned", skill="delivery",
                   caller="444")
    # answered in 10 s, talk 100 s, no later call from 111: FCR
    await add_call(pool, "c5", at(10, 30), queued=5, answered=15, ended=115, outcome="answered", agent=a1,
                   skill="delivery", caller="111")
    # hung up in the IVR: not offered
    await add_call(pool, "c6", at(10, 40), ended=30, outcome="ivr_hangup", caller="555")
    # answered in 15 s, talk 200 s, no skill in the context, no caller number (not in FCR)
    await add_call(pool, "c9", at(11), queued=5, answered=20, ended=220, outcome="answered", agent=a2,
                   csat=4)
    # still waiting in the queue: offered, not finished
    await add_call(pool, "c10", at(11, 30), queued=5, skill="returns", caller="666", state="queued")
    # outside the period: c7 (the repeat of c2, after the period), c8 (before it)
    await add_call(pool, "c7", at(9, day=DAY + timedelta(days=3)), queued=5, answered=10, ended=60,
                   outcome="answered", agent=a1, caller="222")
    await add_call(pool, "c8", at(23, day=DAY - timedelta(days=1)), queued=5, answered=10, ended=60,
                   outcome="answered", agent=a1, caller="111", csat=1)
    return {"a1": a1, "a2": a2}


async def test_totals(pool: asyncpg.Pool, history: dict[str, int]) -> None:
    [total] = await call_kpis(pool, START, END)
    assert total.group is None
    assert (total.offered, total.answered, total.abandoned, total.short_abandons) == (7, 4, 2, 1)
    assert total.answered_within_target == 3
    assert total.service_level == pytest.approx(3 / 5)  # 3 within 20 s / (6 finished - 1 short)
    assert total.asa_s == pytest.approx(20.0)  # (15 + 40 + 10 + 15) / 4
    assert total.aht_s == pytest.approx(200.0)  # (300 + 200 + 100 + 200) / 4
    assert (total.fcr_eligible, total.fcr_resolved) == (3, 1)  # c1 and c2 have repeats
    assert total.fcr_rate == pytest.approx(1 / 3)
    assert total.csat_responses == 3
    assert total.csat_avg == pytest.approx(4.0)


async def test_target_and_thresholds(pool: asyncpg.Pool, history: dict[str, int]) -> None:
    [total] = await call_kpis(pool, START, END, target_s=40, short_abandon_s=2, fcr_days=2)
    assert total.answered_within_target == 4
    assert total.short_abandons == 0
    assert total.service_level == pytest.approx(4 / 6)
    assert (total.fcr_eligible, total.fcr_resolved) == (3, 2)  # c2's repeat is 3 days later


async def test_by_agent(pool: asyncpg.Pool, history: dict[str, int]) -> None:
    rows = {r.group: r for r in await call_kpis(pool, START, END, "agent")}
    assert set(rows) == {history["a1"], history["a2"], None}
    a1, a2, nobody = rows[history["a1"]], rows[history["a2"]], rows[None]
    assert (a1.offered, a1.answered, a1.answered_within_target, a1.service_level) == (2, 2, 2, 1.0)
    assert (a1.asa_s, a1.aht_s, a1.fcr_rate, a1.csat_avg) == (12.5, 200.0, 0.5, 5.0)
    assert (a2.answered, a2.service_level, a2.asa_s, a2.aht_s) == (2, 0.5, 27.5, 200.0)
    assert (a2.fcr_eligible, a2.fcr_resolved, a2.csat_responses, a2.csat_avg) == (1, 0, 2, 3.5)
    assert (nobody.offered, nobody.answered, nobody.abandoned, nobody.short_abandons) == (3, 0, 2, 1)
    assert (nobody.service_level, nobody.asa_s, nobody.aht_s, nobody.csat_avg) == (0.0, None, None, None)


async def test_by_skill(pool: asyncpg.Pool, history: dict[str, int]) -> None:
    rows = await call_kpis(pool, START, END, "skill")
    assert [r.group for r in rows] == ["delivery", "returns", None]
    delivery, returns, none = rows
    assert (delivery.offered, delivery.answered, delivery.abandoned, delivery.service_level) == (3, 1, 2, 0.5)
    assert (returns.offered, returns.answered, returns.service_level) == (3, 2, 0.5)
    assert (none.offered, none.service_level, none.aht_s) == (1, 1.0, 200.0)


async def test_by_day_and_hour(pool: asyncpg.Pool, history: dict[str, int]) -> None:
    days = await call_kpis(pool, START, END, "day")
    assert [(r.group, r.offered) for r in days] == [(date(2026, 3, 2), 7)]
    hours = await call_kpis(pool, START, END, "hour", tz="Europe/Paris")  # UTC+1 in March
    assert [(r.group, r.offered, r.answered) for r in hours] == [
        (datetime(2026, 3, 2, 10), 3, 2), (datetime(2026, 3, 2, 11), 2, 1), (datetime(2026, 3, 2, 12), 2, 1)]
    assert hours[0].to_json()["group"] == "2026-03-02T10:00:00"


async def test_empty_period_and_bad_arguments(pool: asyncpg.Pool, history: dict[str, int]) -> None:
    [empty] = await call_kpis(pool, END + timedelta(days=10), END + timedelta(days=11))
    assert (empty.offered, empty.service_level, empty.asa_s, empty.csat_avg) == (0, None, None, None)
    assert await call_kpis(pool, END + timedelta(days=10), END + timedelta(days=11), "agent") == []
    with pytest.raises(KpiError):
        await call_kpis(pool, END, START)
    with pytest.raises(KpiError):
        await call_kpis(pool, START, END, "week")  # type: ignore[arg-type]
    with pytest.raises(KpiError):
        await call_kpis(pool, START, END, "hour", tz="Mars/Olympus")


async def test_tickets(pool: asyncpg.Pool, history: dict[str, int]) -> None:
    customer = await pool.fetchval("INSERT INTO customers (phone, name) VALUES ('111', 'C') RETURNING id")

    async def ticket(status: str, created: datetime, updated: datetime, due: datetime | None) -> int:
        ticket_id: int = await pool.fetchval(
            "INSERT INTO tickets (customer_id, kind, status, subject, reply_due_at, created_at, updated_at)"
            " VALUES ($1, 'return', $2, 'subject', $3, $4, $5) RETURNING id",
            customer, status, due, created, updated)
        return ticket_id

    async def closed_at(ticket_id: int, when: datetime, status: str = "resolved") -> None:
        await pool.execute("INSERT INTO ticket_history (ticket_id, at, actor, field, old_value, new_value)"
                           " VALUES ($1, $2, 'agent', 'status', 'open', $3)", ticket_id, when, status)

    await ticket("open", at(9), at(9), at(10))  # opened; overdue at noon
    t2 = await ticket("resolved", at(9, day=DAY - timedelta(days=1)), at(9, 30), None)
    await closed_at(t2, at(9, 30))  # closed in the period
    await ticket("closed", at(8), at(11), at(9))  # opened and closed (by updated_at); not overdue
    await ticket("in_progress", at(10), at(10), at(13))  # opened; due later
    t5 = await ticket("resolved", DAY - timedelta(days=10), at(10), None)
    await closed_at(t5, DAY - timedelta(days=9))  # closed before: a later edit does not reopen it
    await ticket("waiting_customer", DAY - timedelta(days=5), DAY - timedelta(days=5),
                 DAY - timedelta(days=4))  # overdue
    result = await ticket_kpis(pool, START, END, NOW)
    assert (result.opened, result.closed, result.overdue) == (3, 2, 2)


def test_service_level_ratio() -> None:
    assert service_level(3, 6, 1) == 0.6
    assert service_level(0, 1, 1) is None
