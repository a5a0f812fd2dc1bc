"""After-sales tickets: the workflow, deadlines, history, search and who may touch them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from callcenter.tickets.store import TicketStore
from callcenter.tickets.workflow import MOVES, STATUSES, TicketError, check_move, reply_due


def test_the_status_moves() -> None:
    check_move("open", "in_progress")
    check_move("in_progress", "waiting_customer")
    check_move("waiting_customer", "resolved")
    check_move("resolved", "closed")
    check_move("resolved", "in_progress")  # reopened
    with pytest.raises(TicketError, match="cannot become open"):
        check_move("resolved", "open")
    with pytest.raises(TicketError, match="closed tickets stay closed"):
        check_move("closed", "in_progress")
    with pytest.raises(TicketError, match="status must be"):
        check_move("open", "done")
    assert set(MOVES) == set(STATUSES)


def test_complaints_must_be_answered_within_seven_days() -> None:
    now = datetime(2026, 11, 24, tzinfo=UTC)
    assert reply_due("complaint", now) == now + timedelta(days=7)
    assert reply_due("inquiry", now) < reply_due("complaint", now)
    with pytest.raises(TicketError):
        reply_due("wish", now)


async def test_create_change_history_and_search(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE tickets, ticket_history, customers, orders CASCADE")
    customer = await pool.fetchval("INSERT INTO customers (phone, name) VALUES ('13800000009', 'Nina') RETURNING id")
    other = await pool.fetchval("INSERT INTO customers (phone, name) VALUES ('13800000010', 'Otto') RETURNING id")
    order = await pool.fetchval("INSERT INTO orders (order_number, customer_id, status, total_cents, placed_at)"
                                " VALUES ('Z-77', $1, 'delivered', 500, now()) RETURNING id", customer)
    store = TicketStore(pool)
    ticket = await store.create("agent1", customer_id=customer, kind="complaint",
                                subject="Courier was rude", notes="wants an apology", order_id=order)
    assert ticket["status"] == "open" and ticket["order_number"] == "Z-77"
    with pytest.raises(TicketError, match="not this customer's"):
        await store.create("agent1", customer_id=other, kind="refund", subject="x", order_id=order)
    changed = await store.update("agent1", ticket["id"], {"status": "in_progress", "notes": "called the depot"})
    assert changed["status"] == "in_progress"
    assert [h["field"] for h in changed["history"]] == ["created", "status", "notes"]
    assert changed["history"][1] == {**changed["history"][1], "old": "open", "new": "in_progress"}
    with pytest.raises(TicketError, match="cannot become open"):
        await store.update("agent1", ticket["id"], {"status": "open"})
    with pytest.raises(TicketError, match="cannot change"):
        await store.update("agent1", ticket["id"], {"customer_id": other})
    await store.create("sup", customer_id=other, kind="inquiry", subject="Invoice copy")
    for query in ("depot", "Z-77", "13800000009", "rude"):
        found = await store.search(text=query)
        assert [t["id"] for t in found] == [ticket["id"]], query
    for hostile in ("'; DROP TABLE tickets; --", "%", "_", "\\"):
        assert await store.search(text=hostile) == []
    by_due = await store.search(sort="reply_due")
    assert [t["kind"] for t in by_due] == ["inquiry", "complaint"]  # two days before seven
    with pytest.raises(TicketError, match="sort"):
        await store.search(sort="id; DROP TABLE tickets")
