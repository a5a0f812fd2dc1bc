"""The console hub: pops that never wait for a slow shop, feeds a browser catches up on."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from callcenter.console.hub import ConsoleHub
from callcenter.orders.model import Customer, CustomerContext, Order, OrderContext
from callcenter.orders.provider import OrderLookupError
from callcenter.routing.offers import OfferRinging
from tests.helpers.polling import wait_until

CUSTOMER = Customer(3, "Chen Lihua", "13800000001", None, "vip", "zh")
ORDER = Order(7, "A-1001", "delivered", 12900, "CNY", datetime(2026, 11, 1, tzinfo=UTC))


class Shop:
    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.delay, self.fail = delay, fail

    async def customer_by_phone(self, phone: str) -> CustomerContext | None:
        await asyncio.sleep(self.delay)
        if self.fail:
            raise OrderLookupError("down")
        return CustomerContext(CUSTOMER, (ORDER,)) if phone == "13800000001" else None

    async def order_by_number(self, number: str) -> OrderContext | None:
        return OrderContext(ORDER, CUSTOMER) if number == "A-1001" else None


class NoDb:
    async def fetchval(self, *args: Any) -> None:
        return None

    async def fetch(self, *args: Any) -> list[Any]:
        return []

    async def execute(self, *args: Any) -> str:
        return "UPDATE 0"


def ringing(number: str = "13800000001") -> OfferRinging:
    return OfferRinging("1700.1", "sam", "PJSIP/pstn-1", "PJSIP/1001-2", number, "Chen", "refunds", time.time())


def summary(_: str) -> dict[str, Any]:
    return {"language": "zh", "context": {"order.number": "A-1001"},
            "steps": [{"node": "main_menu", "kind": "input"}, {"node": "to_agent", "kind": "route"}]}


async def events(hub: ConsoleHub, agent: str, count: int, timeout: float = 2.0) -> list[dict[str, Any]]:
    await wait_until(lambda: len(hub.feed(agent).events) >= count, what=f"{count} events", timeout_s=timeout,
                     every_s=0.01, detail=lambda: list(hub.feed(agent).events))
    return list(hub.feed(agent).events)


async def test_a_quick_shop_gives_one_complete_pop() -> None:
    hub = ConsoleHub(Shop(), NoDb(), summary)
    started = time.perf_counter()
    hub.on_ringing(ringing())
    assert time.perf_counter() - started < 0.01  # the routing hook returns at once
    [pop] = await events(hub, "sam", 1)
    assert pop["type"] == "pop" and pop["context"]["status"] == "ok"
    assert pop["customer"]["tier"] == "vip" and pop["orders"][0]["number"] == "A-1001"
    assert pop["ivr"]["order_number"] == "A-1001" and pop["ivr"]["path"] == ["main_menu", "to_agent"]


async def test_a_slow_shop_gives_a_pending_pop_at_once_then_the_rest() -> None:
    hub = ConsoleHub(Shop(delay=0.5), NoDb(), summary, deadline_s=0.05)
    hub.on_ringing(ringing())
    first = (await events(hub, "sam", 1, timeout=0.3))[0]
    assert first["type"] == "pop" and first["context"]["status"] == "pending" and first["customer"] is None
    second = (await events(hub, "sam", 2))[1]
    assert second["type"] == "pop_update" and second["customer"]["name"] == "Chen Lihua"


@pytest.mark.parametrize(("shop", "number", "status"), [
    (Shop(fail=True), "13800000001", "unavailable"),
    (Shop(), "99999", "ok"),  # unknown number, but the typed order names the customer
])
async def test_failing_or_unknown_lookups_still_pop(shop: Shop, number: str, status: str) -> None:
    hub = ConsoleHub(shop, NoDb(), summary)
    hub.on_ringing(ringing(number))
    [pop] = await events(hub, "sam", 1)
    assert pop["context"]["status"] == status


async def test_a_reconnecting_browser_gets_what_it_missed_or_a_snapshot() -> None:
    hub = ConsoleHub(Shop(), NoDb(), summary, keep=5)
    for n in range(3):
        hub.publish("sam", {"type": "state", "n": n})
    assert [e["n"] for e in hub.since("sam", 1) or []] == [1, 2]
    assert hub.since("sam", 3) == []
    for n in range(3, 10):
        hub.publish("sam", {"type": "state", "n": n})
    assert hub.since("sam", 2) is None  # events 3, 4 are gone: a snapshot is needed
    assert [e["seq"] for e in hub.since("sam", 6) or []] == [7, 8, 9, 10]
    assert hub.snapshot("sam")["seq"] == 10


class RecordingDb(NoDb):
    def __init__(self) -> None:
        self.executed: list[tuple[Any, ...]] = []

    async def execute(self, *args: Any) -> str:
        self.executed.append(args)
        return "UPDATE 1"


async def test_a_call_the_safety_net_connected_is_attributed_to_the_agent_whose_phone_answered() -> None:
    from callcenter.calls.events import Bridged

    db = RecordingDb()
    hub = ConsoleHub(Shop(), db, summary,
                     agent_for_channel=lambda ch: "sam" if ch.startswith("PJSIP/1001-") else None)
    hub.on_call_event(Bridged("1700.9", 3.0, "PJSIP/1001-0000000a", "1700.10", "", True, 3.0))
    [answered] = await events(hub, "sam", 1)
    assert answered["type"] == "answered" and answered["call_id"] == "1700.9"
    await asyncio.sleep(0.05)
    assert any("agent_id" in str(args[0]) and args[1:] == ("1700.9", "sam") for args in db.executed)
