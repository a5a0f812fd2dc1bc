"""The built-in order-context provider: the shop tables of migration 001, through asyncpg.

Each lookup takes one pooled connection and at most four indexed queries (customer by phone,
their recent orders, then items and shipments of those orders by ``order_id = ANY``), so it
stays fast with millions of orders. Database failures become :class:`OrderLookupError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from callcenter.orders.model import (
    Customer,
    CustomerContext,
    Order,
    OrderContext,
    OrderItem,
    Shipment,
)
from callcenter.orders.phone import HOME_COUNTRY_CODE, phone_candidates
from callcenter.orders.provider import OrderLookupError

_CUSTOMER_BY_PHONE = """
SELECT c.id, c.name, c.phone, c.email, c.tier, c.language
FROM customers c
WHERE c.phone = ANY($1::text[])
ORDER BY (SELECT max(o.placed_at) FROM orders o WHERE o.customer_id = c.id) DESC NULLS LAST, c.id DESC
LIMIT 1
"""
_RECENT_ORDERS = """
SELECT id, order_number, status, total_cents, currency, placed_at
FROM orders WHERE customer_id = $1 ORDER BY placed_at DESC, id DESC LIMIT $2
"""
_ORDER_BY_NUMBER = """
SELECT o.id, o.order_number, o.status, o.total_cents, o.currency, o.placed_at,
       c.id AS customer_id, c.name, c.phone, c.email, c.tier, c.language
FROM orders o JOIN customers c ON c.id = o.customer_id
WHERE o.order_number = $1
"""
_ITEMS = """
SELECT order_id, sku, title, quantity, unit_cents FROM order_items
WHERE order_id = ANY($1::bigint[]) ORDER BY order_id, id
"""
_SHIPMENTS = """
SELECT order_id, carrier, tracking_number, status, status_at, delivered_at FROM shipments
WHERE order_id = ANY($1::bigint[]) ORDER BY order_id, status_at DESC NULLS LAST, id DESC
"""
_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError, asyncpg.PostgresError,
                                            asyncpg.InterfaceError)


class PgOrderContextProvider:
    """:class:`~callcenter.orders.provider.OrderContextProvider` over PostgreSQL.

    Args:
        pool: an asyncpg pool on the migrated database.
        recent_orders: how many of a customer's orders come with them (newest first).
        country_code: the home country's calling code, to match ``+86…`` against ``138…``.
        timeout_s: per-query timeout; a slow database must not hold a caller in silence.
    """

    def __init__(self, pool: asyncpg.Pool, recent_orders: int = 5,
                 country_code: str = HOME_COUNTRY_CODE, timeout_s: float = 2.0) -> None:
        self._pool = pool
        self._recent = recent_orders
        self._country = country_code
        self._timeout = timeout_s

    async def customer_by_phone(self, phone: str) -> CustomerContext | None:
        candidates = phone_candidates(phone, self._country)
        if not candidates:
            return None
        try:
            async with self._pool.acquire() as conn:
                row = await conn.fetchrow(_CUSTOMER_BY_PHONE, candidates, timeout=self._timeout)
                if row is None:
                    return None
                orders = await conn.fetch(_RECENT_ORDERS, row["id"], self._recent, timeout=self._timeout)
                full = await self._complete(conn, orders)
        except _ERRORS as exc:
            raise OrderLookupError(f"customer lookup failed: {type(exc).__name__}") from exc
        return CustomerContext(_customer(row, "id"), tuple(full))

    async def order_by_number(self, number: str) -> OrderContext | None:
        number = number.strip()
        if not number:
            return None
        try:
            async with self._pool.acquire() as conn:
                row = await conn.fetchrow(_ORDER_BY_NUMBER, number, timeout=self._timeout)
                if row is None:
                    return None
                (order,) = await self._complete(conn, [row])
        except _ERRORS as exc:
            raise OrderLookupError(f"order lookup failed: {type(exc).__name__}") from exc
        return OrderContext(order, _customer(row, "customer_id"))

    async def _complete(self, conn: Any, rows: Sequence[Any]) -> list[Order]:
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        items = await conn.fetch(_ITEMS, ids, timeout=self._timeout)
        shipments = await conn.fetch(_SHIPMENTS, ids, timeout=self._timeout)
        by_order_items: dict[int, list[OrderItem]] = {i: [] for i in ids}
        for item in items:
            by_order_items[item["order_id"]].append(
                OrderItem(item["sku"], item["title"], item["quantity"], item["unit_cents"]))
        by_order_ships: dict[int, list[Shipment]] = {i: [] for i in ids}
        for ship in shipments:
            by_order_ships[ship["order_id"]].append(
                Shipment(ship["carrier"], ship["tracking_number"], ship["status"], ship["status_at"],
                         ship["delivered_at"]))
        return [Order(row["id"], row["order_number"], row["status"], row["total_cents"], row["currency"],
                      row["placed_at"], tuple(by_order_items[row["id"]]),
                      tuple(by_order_ships[row["id"]])) for row in rows]


def _customer(row: Any, id_column: str) -> Customer:
    return Customer(row[id_column], row["name"], row["phone"], row["email"], row["tier"], row["language"])
