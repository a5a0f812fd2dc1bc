"""The built-in order-context provider and callback tickets against a real PostgreSQL (tables of
migration 001), and the IVR's lookup values made from them."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from callcenter.orders.phone import phone_candidates
from callcenter.orders.postgres import PgOrderContextProvider
from callcenter.orders.provider import OrderLookupError
from callcenter.orders.tickets import CallbackRequest, CallbackTickets
from ivr.lookup import customer_values, order_context_values

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


async def seed(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE customers, orders, order_items, shipments, tickets, calls CASCADE")
        alice = await conn.fetchval("INSERT INTO customers (phone, name, tier, language) VALUES "
                                    "('13800000001', 'Alice Chen', 'standard', 'en') RETURNING id")
        chen = await conn.fetchval("INSERT INTO customers (phone, name, tier, language) VALUES "
                                   "('+8613800000003', '陈丽华', 'vip', 'zh') RETURNING id")
        # a household line shared by two customers: the one with the latest order wins
        await conn.fetchval("INSERT INTO customers (phone, name) VALUES ('02155550123', 'Old tenant') RETURNING id")
        shared = await conn.fetchval("INSERT INTO customers (phone, name, language) VALUES "
                                     "('02155550123', 'New tenant', 'zh') RETURNING id")
        ids = {}
        for number, customer, status, placed in [("10000011", alice, "shipped", T0),
                                                 ("10000012", alice, "delivered", T0.replace(day=5)),
                                                 ("10000031", chen, "paid", T0),
                                                 ("10000041", shared, "paid", T0)]:
            ids[number] = await conn.fetchval(
                "INSERT INTO orders (order_number, customer_id, status, total_cents, currency, placed_at) "
                "VALUES ($1, $2, $3, 89700, 'CNY', $4) RETURNING id", number, customer, status, placed)
        await conn.execute("INSERT INTO order_items (order_id, sku, title, quantity, unit_cents) VALUES "
                           "($1, 'BLD-200', 'Blender 1.5 L', 1, 39900), ($1, 'KTL-110', '电热水壶', 2, 24900)",
                           ids["10000011"])
        await conn.execute(
            "INSERT INTO shipments (order_id, carrier, tracking_number, status, status_at) VALUES "
            "($1, 'SF Express', 'SF100000000001', 'label_created', $2),"
            "($1, 'SF Express', 'SF100000000001', 'in_transit', $3)",
            ids["10000011"], T0.replace(day=2), T0.replace(day=3))
        await conn.execute("INSERT INTO calls (linkedid, arrived_at) VALUES ('1795314487.14', now())")
    return {"alice": alice, "chen": chen, "shared": shared, **ids}


async def test_given_caller_number_in_any_spelling_then_customer_with_recent_orders(pool: asyncpg.Pool) -> None:
    ids = await seed(pool)
    provider = PgOrderContextProvider(pool)
    for spelling in ("13800000001", "+8613800000001", "008613800000001"):
        found = await provider.customer_by_phone(spelling)
        assert found is not None and found.customer.id == ids["alice"], spelling
    assert [o.number for o in found.orders] == ["10000012", "10000011"]  # newest first
    older = found.orders[1]
    assert [(i.sku, i.amount_cents) for i in older.items] == [("BLD-200", 39900), ("KTL-110", 49800)]
    assert older.items_cents == 89700
    assert older.latest_shipment is not None and older.latest_shipment.status == "in_transit"
    vip = await provider.customer_by_phone("13800000003")
    assert vip is not None and (vip.customer.tier, vip.customer.language) == ("vip", "zh")
    shared = await provider.customer_by_phone("+862155550123")
    assert shared is not None and shared.customer.id == ids["shared"]
    assert await provider.customer_by_phone("13999999999") is None
    assert await provider.customer_by_phone("anonymous") is None


async def test_given_order_number_then_order_items_latest_shipment_and_customer(pool: asyncpg.Pool) -> None:
    ids = await seed(pool)
    found = await PgOrderContextProvider(pool).order_by_number("10000011")
    assert found is not None
    assert (found.order.id, found.customer.id, found.order.total_cents) == (ids["10000011"], ids["alice"], 89700)
    assert [s.status for s in found.order.shipments] == ["in_transit", "label_created"]
    assert found.order.latest_shipment is not None
    assert found.order.latest_shipment.tracking_number == "SF100000000001"
    assert await PgOrderContextProvider(pool).order_by_number("99999999") is None


async def test_lookup_values_for_the_ivr_context(pool: asyncpg.Pool) -> None:
    await seed(pool)
    provider = PgOrderContextProvider(pool)
    order = await provider.order_by_number("10000011")
    assert order is not None
    values = order_context_values(order)
    assert values["shipment.status"] == "in_transit" and values["shipment.status_at"] == "2026-11-03"
    assert values["order.items"] == 2 and values["order.customer_tier"] == "standard"
    assert not any(k.startswith("customer.") for k in values)  # never overwrites who is calling
    customer = await provider.customer_by_phone("13800000003")
    assert customer is not None
    assert customer_values(customer)["customer.tier"] == "vip"
    assert customer_values(customer)["last_order.number"] == "10000031"


async def test_given_database_gone_then_lookup_error_not_a_crash(db_url: str) -> None:
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=1)
    await pool.close()
    provider = PgOrderContextProvider(pool)
    with pytest.raises(OrderLookupError):
        await provider.order_by_number("10000011")
    with pytest.raises(OrderLookupError):
        await CallbackTickets(pool).create_callback(CallbackRequest("x", "13800000001", "callback"))


async def test_given_known_customer_then_callback_ticket_linked_to_customer_order_and_call(
        pool: asyncpg.Pool) -> None:
    ids = await seed(pool)
    tickets = CallbackTickets(pool)
    ticket = await tickets.create_callback(CallbackRequest(
        call_id="1795314487.14", number="13800000001", reason="Callback requested in the IVR",
        language="en", customer_id=ids["alice"], order_number="10000011"))
    row = await pool.fetchrow("SELECT t.*, c.linkedid FROM tickets t LEFT JOIN calls c ON c.id = t.call_id "
                              "WHERE t.id = $1", ticket)
    assert (row["kind"], row["status"], row["customer_id"], row["order_id"]) == \
        ("callback", "open", ids["alice"], ids["10000011"])
    assert row["linkedid"] == "1795314487.14" and row["reply_due_at"] is not None
    assert "Call back on: 13800000001" in row["notes"] and row["callback_number"] == "13800000001"
    history = await pool.fetchval("SELECT count(*) FROM ticket_history WHERE ticket_id = $1", ticket)
    assert history == 1


async def test_given_caller_found_by_number_and_someone_elses_order_then_order_only_noted(
        pool: asyncpg.Pool) -> None:
    ids = await seed(pool)
    ticket = await CallbackTickets(pool).create_callback(CallbackRequest(
        call_id="nowhere", number="+8613800000003", reason="Callback", order_number="10000011",
        voicemail="/var/spool/asterisk/ivr-messages/x-voicemail-1.wav"))
    row = await pool.fetchrow("SELECT * FROM tickets WHERE id = $1", ticket)
    assert row["customer_id"] == ids["chen"] and row["order_id"] is None and row["call_id"] is None
    assert "not this customer's order" in row["notes"] and "Voicemail: /var/spool" in row["notes"]


async def test_given_unknown_caller_then_a_minimal_customer_keeps_the_callback(pool: asyncpg.Pool) -> None:
    await seed(pool)
    ticket = await CallbackTickets(pool).create_callback(CallbackRequest(
        call_id="1795314487.14", number="13911112222", reason="Callback", language="zh", caller_name="王伟"))
    row = await pool.fetchrow("SELECT c.name, c.phone, c.language FROM tickets t JOIN customers c "
                              "ON c.id = t.customer_id WHERE t.id = $1", ticket)
    assert tuple(row) == ("王伟", "13911112222", "zh")
    assert await pool.fetchval("SELECT callback_number FROM tickets WHERE id = $1", ticket) == "13911112222"
    anonymous = await CallbackTickets(pool).create_callback(CallbackRequest("1795314487.14", "", "Voicemail"))
    name = await pool.fetchval("SELECT c.name FROM tickets t JOIN customers c ON c.id = t.customer_id "
                               "WHERE t.id = $1", anonymous)
    assert name == "Unknown caller"
    assert await pool.fetchval("SELECT callback_number FROM tickets WHERE id = $1", anonymous) is None


async def test_csat_column_takes_one_to_five_only(pool: asyncpg.Pool) -> None:
    await seed(pool)
    await pool.execute("UPDATE calls SET csat = 5 WHERE linkedid = '1795314487.14'")
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("UPDATE calls SET csat = 6 WHERE linkedid = '1795314487.14'")


def test_phone_candidates() -> None:
    assert phone_candidates("+86 138-0000-0001") == ["+8613800000001", "8613800000001", "13800000001",
                                                     "013800000001"]
    assert phone_candidates("021 5555 0123") == ["02155550123", "+862155550123", "862155550123",
                                                 "2155550123"]
    assert phone_candidates("anonymous") == [] and phone_candidates("12") == []
