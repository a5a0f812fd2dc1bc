"""An order-context provider for a shop's own HTTP API.

URL templates come from the settings (``orders.http_customer_url`` with ``{phone}``,
``orders.http_order_url`` with ``{order_number}``); values are URL-encoded, so a caller number or
a typed order number can never change the path or the query. Each lookup has a timeout, a few
retries on timeouts and 5xx (not on 4xx), answers are cached for ``cache_ttl_s``, and a circuit
breaker stops asking a back end that keeps failing (the pop then shows the context as
unavailable at once instead of waiting). The JSON shapes are in ``docs/order-providers.md``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp
import structlog

from callcenter.orders.breaker import CircuitBreaker, TtlCache
from callcenter.orders.model import Customer, CustomerContext, Order, OrderContext, OrderItem, Shipment
from callcenter.orders.provider import OrderLookupError
from callcenter.settings import OrdersSettings

log = structlog.get_logger("callcenter.orders")


class HttpOrderProvider:
    def __init__(self, settings: OrdersSettings, session: aiohttp.ClientSession | None = None) -> None:
        self._settings = settings
        self._session = session
        self._own_session = session is None
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_s)
        self._cache: TtlCache[Any] = TtlCache(settings.cache_ttl_s)
        self.requests = 0

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()

    async def customer_by_phone(self, phone: str) -> CustomerContext | None:
        template = self._settings.http_customer_url
        if not template:
            raise OrderLookupError("orders.http_customer_url is not set")
        body = await self._get(template.replace("{phone}", quote(phone, safe="")))
        if body is None:
            return None
        try:
            return CustomerContext(_customer(body["customer"]),
                                   tuple(_order(o) for o in body.get("orders", [])))
        except (KeyError, TypeError, ValueError) as exc:
            raise OrderLookupError(f"the shop's customer answer is malformed: {_what(exc)}") from None

    async def order_by_number(self, number: str) -> OrderContext | None:
        template = self._settings.http_order_url
        if not template:
            raise OrderLookupError("orders.http_order_url is not set")
        body = await self._get(template.replace("{order_number}", quote(number, safe="")))
        if body is None:
            return None
        try:
            return OrderContext(_order(body["order"]), _customer(body["customer"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise OrderLookupError(f"the shop's order answer is malformed: {_what(exc)}") from None

    async def _get(self, url: str) -> Any:
        hit, cached = self._cache.get(url)
        if hit:
            return cached
        if not self.breaker.allow():
            raise OrderLookupError("the shop's API is failing; not asking for now (circuit open)")
        last = ""
        for attempt in range(self._settings.retries + 1):
            try:
                status, body = await self._fetch(url)
            except (TimeoutError, aiohttp.ClientError) as exc:
                last = f"{type(exc).__name__}"
            else:
                if status == 404:
                    self.breaker.success()
                    self._cache.put(url, None)
                    return None
                if status == 200 and isinstance(body, dict):
                    self.breaker.success()
                    self._cache.put(url, body)
                    return body
                if status == 200:
                    self.breaker.success()
                    raise OrderLookupError("the shop's API answered something other than a JSON object")
                last = f"HTTP {status}"
                if status < 500:
                    self.breaker.failure()
                    raise OrderLookupError(f"the shop's API refused the lookup ({last})")
            if attempt < self._settings.retries:
                await asyncio.sleep(0.05 * (attempt + 1))
        self.breaker.failure()
        log.warning("order_lookup_failed", error=last, breaker=self.breaker.state)
        raise OrderLookupError(f"the shop's API did not answer ({last})")

    async def _fetch(self, url: str) -> tuple[int, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Accept": "application/json"}
        token = self._settings.http_token.reveal()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.requests += 1
        timeout = aiohttp.ClientTimeout(total=self._settings.timeout_s)
        async with self._session.get(url, headers=headers, timeout=timeout, allow_redirects=False) as resp:
            if resp.status != 200:
                return resp.status, None
            try:
                return 200, await resp.json(content_type=None)
            except ValueError:
                return 200, "not json"


def _what(exc: Exception) -> str:
    return f"missing {exc}" if isinstance(exc, KeyError) else str(exc)[:100]


def _time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"a time must be an ISO 8601 string, got {value!r}")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _customer(raw: Any) -> Customer:
    tier = str(raw.get("tier", "standard"))
    return Customer(int(raw["id"]), str(raw["name"]), raw.get("phone"), raw.get("email"),
                    tier if tier in ("standard", "vip") else "standard", str(raw.get("language", "en")))


def _order(raw: Any) -> Order:
    placed = _time(raw["placed_at"])
    if placed is None:
        raise ValueError("placed_at is required")
    return Order(
        int(raw["id"]), str(raw["number"]), str(raw["status"]), int(raw["total_cents"]),
        str(raw.get("currency", "EUR")), placed,
        tuple(OrderItem(str(i["sku"]), str(i["title"]), int(i["quantity"]), int(i["unit_cents"]))
              for i in raw.get("items", [])),
        tuple(Shipment(str(s["carrier"]), s.get("tracking_number"), str(s["status"]),
                       _time(s.get("status_at")), _time(s.get("delivered_at")))
              for s in raw.get("shipments", [])))
