"""Writes the demo shop into PostgreSQL once (a second run finds it there and does nothing)."""

from __future__ import annotations

import asyncpg

from callcenter.demo.data import DemoData, generate


async def seed_shop(pool: asyncpg.Pool, data: DemoData | None = None) -> bool:
    """Load customers, orders, items, shipments and tickets with COPY. Returns False when the
    shop already has customers (nothing is written then)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE customers IN EXCLUSIVE MODE")
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM customers)"):
            return False
        data = data or generate()
        await conn.copy_records_to_table(
            "customers", records=data.customers,
            columns=("id", "phone", "name", "email", "tier", "language", "created_at"))
        await conn.copy_records_to_table(
            "orders", records=data.orders,
            columns=("id", "order_number", "customer_id", "status", "total_cents", "currency",
                     "placed_at"))
        await conn.copy_records_to_table(
            "order_items", records=data.items,
            columns=("order_id", "sku", "title", "quantity", "unit_cents"))
        await conn.copy_records_to_table(
            "shipments", records=data.shipments,
            columns=("order_id", "carrier", "tracking_number", "status", "status_at", "delivered_at"))
        await conn.copy_records_to_table(
            "tickets", records=data.tickets,
            columns=("customer_id", "order_id", "kind", "status", "subject", "notes", "created_at",
                     "reply_due_at"))
        for table in ("customers", "orders"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))")
    return True
