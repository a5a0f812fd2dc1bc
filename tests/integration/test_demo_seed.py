"""The demo shop: generated deterministically, written once, consistent with its constraints."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from callcenter.demo.data import caller_numbers, generate
from callcenter.demo.seed import seed_shop


def test_same_seed_same_shop() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    assert generate(50, now=now) == generate(50, now=now)
    data = generate(50, now=now)
    assert {c[1] for c in data.customers} >= set(caller_numbers(50))
    assert any(c[4] == "vip" for c in data.customers)
    assert all(len(o[1]) == 8 and o[1].isdigit() for o in data.orders)


async def test_seed_writes_once_and_rows_satisfy_the_schema(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE customers, orders, order_items, shipments, tickets RESTART IDENTITY CASCADE")
    assert await seed_shop(pool) is True
    assert await seed_shop(pool) is False
    customers = await pool.fetchval("SELECT count(*) FROM customers")
    assert customers == 200
    open_tickets = await pool.fetchval("SELECT count(*) FROM tickets WHERE status NOT IN ('resolved', 'closed')")
    assert open_tickets > 0
    row = await pool.fetchrow(
        "SELECT c.name, o.order_number, s.carrier, s.tracking_number FROM customers c"
        " JOIN orders o ON o.customer_id = c.id JOIN shipments s ON s.order_id = o.id"
        " WHERE c.phone = '13800000001' LIMIT 1")
    assert row is None or row["tracking_number"]
    next_id = await pool.fetchval("INSERT INTO customers (phone, name) VALUES ('13999999999', 'New') RETURNING id")
    assert next_id == 201
