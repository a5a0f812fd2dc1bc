"""The HTTP order provider against a real HTTP server: shapes, timeouts, retries, cache,
circuit breaker, value encoding, the token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from callcenter.orders.breaker import CircuitBreaker, TtlCache
from callcenter.orders.http import HttpOrderProvider
from callcenter.orders.provider import OrderLookupError
from callcenter.settings import OrdersSettings, Secret

ORDER = {"id": 7, "number": "A-1001", "status": "delivered", "total_cents": 12900, "currency": "EUR",
         "placed_at": "2026-11-01T10:00:00Z",
         "items": [{"sku": "BL-1", "title": "Blender", "quantity": 1, "unit_cents": 12900}],
         "shipments": [{"carrier": "DHL", "tracking_number": "JD0001", "status": "delivered",
                        "status_at": "2026-11-03T09:00:00+01:00", "delivered_at": "2026-11-03T09:00:00+01:00"}]}
CUSTOMER = {"id": 3, "name": "Chen Lihua", "phone": "+8613800000001", "tier": "vip", "language": "zh"}


class Shop:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []
        self.fail_next = 0
        self.slow = 0.0
        self.body: Any = None

    async def customer(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.path_qs, request.query.get("phone", ""), request.headers.get("Authorization", "")))
        if self.slow:
            await asyncio.sleep(self.slow)
        if self.fail_next:
            self.fail_next -= 1
            return web.Response(status=503)
        if self.body is not None:
            return web.Response(text=self.body, content_type="application/json")
        if request.query.get("phone") == "+8613800000001":
            return web.json_response({"customer": CUSTOMER, "orders": [ORDER]})
        return web.Response(status=404)

    async def order(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.path_qs, request.match_info["number"], ""))
        if request.match_info["number"] == "A-1001":
            return web.json_response({"order": ORDER, "customer": CUSTOMER})
        if request.match_info["number"] == "forbidden":
            return web.Response(status=403)
        return web.Response(status=404)


@pytest.fixture
async def shop() -> AsyncIterator[tuple[Shop, str]]:
    state = Shop()
    app = web.Application()
    app.router.add_get("/customers", state.customer)
    app.router.add_get("/orders/{number}", state.order)
    server = TestServer(app)
    await server.start_server()
    try:
        yield state, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def provider(base: str, **overrides: Any) -> HttpOrderProvider:
    values: dict[str, Any] = {"timeout_s": 0.5, "retries": 1, "cache_ttl_s": 30, "breaker_failures": 3,
                              "breaker_reset_s": 60, **overrides}
    settings = OrdersSettings(provider="http", http_customer_url=base + "/customers?phone={phone}",
                              http_order_url=base + "/orders/{order_number}",
                              http_token=Secret("s3cret-token"), **values)
    return HttpOrderProvider(settings)


async def test_customer_and_order_are_mapped_and_the_token_sent(shop: tuple[Shop, str]) -> None:
    state, base = shop
    p = provider(base)
    try:
        found = await p.customer_by_phone("+8613800000001")
        assert found is not None and found.customer.tier == "vip" and found.customer.name == "Chen Lihua"
        order = found.orders[0]
        assert order.number == "A-1001" and order.items[0].amount_cents == 12900
        assert order.latest_shipment is not None and order.latest_shipment.tracking_number == "JD0001"
        assert state.seen[0][2] == "Bearer s3cret-token"
        by_number = await p.order_by_number("A-1001")
        assert by_number is not None and by_number.customer.id == 3
        assert await p.customer_by_phone("+49301234567") is None
        assert await p.order_by_number("nope") is None
    finally:
        await p.close()


async def test_values_are_encoded_so_they_cannot_change_the_request(shop: tuple[Shop, str]) -> None:
    state, base = shop
    p = provider(base)
    try:
        assert await p.customer_by_phone("+86 138&admin=1#x") is None
        assert state.seen[-1][1] == "+86 138&admin=1#x"  # arrived whole, as one value
        assert await p.order_by_number("../admin?x=1") is None
        assert state.seen[-1][1] == "../admin?x=1"  # one path segment, no query
        assert state.seen[-1][0].startswith("/orders/..%2Fadmin%3F")
    finally:
        await p.close()


async def test_answers_are_cached(shop: tuple[Shop, str]) -> None:
    _state, base = shop
    p = provider(base)
    try:
        for _ in range(3):
            await p.customer_by_phone("+8613800000001")
        await p.customer_by_phone("+49301234567")
        await p.customer_by_phone("+49301234567")  # "not found" is cached too
        assert p.requests == 2
    finally:
        await p.close()


async def test_a_5xx_is_retried_and_a_4xx_is_not(shop: tuple[Shop, str]) -> None:
    state, base = shop
    p = provider(base)
    try:
        state.fail_next = 1
        assert await p.customer_by_phone("+8613800000001") is not None
        assert p.requests == 2
        with pytest.raises(OrderLookupError, match="403"):
            await p.order_by_number("forbidden")
        assert p.requests == 3
    finally:
        await p.close()


async def test_a_slow_back_end_times_out_with_a_clear_error(shop: tuple[Shop, str]) -> None:
    state, base = shop
    state.slow = 2.0
    p = provider(base)
    try:
        with pytest.raises(OrderLookupError, match="did not answer"):
            await p.customer_by_phone("+8613800000001")
        assert p.requests == 2  # one retry
    finally:
        await p.close()


async def test_malformed_answers_are_errors_not_crashes(shop: tuple[Shop, str]) -> None:
    state, base = shop
    p = provider(base, cache_ttl_s=0)
    try:
        for body, match in (("not json", "other than a JSON object"), ('["a"]', "other than a JSON object"),
                            ('{"orders": []}', "missing 'customer'"),
                            ('{"customer": {"id": "x", "name": "a"}}', "malformed")):
            state.body = body
            with pytest.raises(OrderLookupError, match=match):
                await p.customer_by_phone("+1")
    finally:
        await p.close()


async def test_the_breaker_opens_after_failures_and_stops_asking(shop: tuple[Shop, str]) -> None:
    state, base = shop
    p = provider(base, retries=0)
    try:
        state.fail_next = 100
        for _ in range(3):
            with pytest.raises(OrderLookupError, match="did not answer"):
                await p.customer_by_phone("+8613800000001")
        asked = p.requests
        with pytest.raises(OrderLookupError, match="circuit open"):
            await p.customer_by_phone("+8613800000001")
        assert p.requests == asked and p.breaker.state == "open"
    finally:
        await p.close()


def test_breaker_half_opens_lets_one_probe_and_closes_on_success() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=2, reset_s=10, clock=lambda: now[0])
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 10.0
    assert breaker.state == "half_open" and breaker.allow() and not breaker.allow()
    breaker.failure()  # the probe failed: open again
    assert breaker.state == "open"
    now[0] = 20.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()


def test_cache_expires_and_stays_bounded() -> None:
    now = [0.0]
    cache: TtlCache[int] = TtlCache(ttl_s=5, size=2, clock=lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert cache.get("a") == (False, None) and cache.get("c") == (True, 3)
    now[0] = 6.0
    assert cache.get("c") == (False, None)
