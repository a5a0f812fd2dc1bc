"""The IVR-to-routing hand-off: the routing facts (repeat caller, ticket owner) are looked up
once, from the moment the IVR starts routing (``prepare``), and the offer takes them."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import asyncpg

from callcenter.routing import events as ev
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.handoff import RoutingHandoff
from callcenter.routing.offers import OfferAdapter
from ivr.effects import RouteRequirements
from tests.helpers.polling import wait_until


class Pool:
    """``fetchrow`` answers the facts query once ``release`` is set."""

    def __init__(self) -> None:
        self.asked: list[tuple[Any, ...]] = []
        self.release = asyncio.Event()

    async def fetchrow(self, _sql: str, *args: Any) -> dict[str, Any]:
        self.asked.append(args)
        await self.release.wait()
        return {"repeat_caller": True, "ticket_owner": "olga"}


class Offers:
    def __init__(self) -> None:
        self.requests: list[ev.CallRequest] = []

    def enqueue(self, request: ev.CallRequest, channel: str, number: str = "", name: str = "") -> None:
        self.requests.append(request)


def handoff(pool: Pool, offers: Offers) -> RoutingHandoff:
    return RoutingHandoff(cast(OfferAdapter, offers), cast(RoutingEngine, None), cast(asyncpg.Pool, pool),
                          lambda _: None, clock=lambda: 1_800_000_000.0)


REQUIREMENTS = RouteRequirements(skill="orders")
CONTEXT = {"customer.id": 7}


async def test_given_prepare_when_enqueued_then_the_facts_looked_up_meanwhile_are_used_once() -> None:
    pool, offers = Pool(), Offers()
    routing = handoff(pool, offers)
    routing.prepare("c1", CONTEXT)
    await wait_until(lambda: pool.asked, what="the look-up started by prepare, before enqueue")
    pool.release.set()
    await routing.enqueue("c1", "PJSIP/carrier-1", REQUIREMENTS, CONTEXT)
    assert len(pool.asked) == 1, "the facts were looked up twice"
    (request,) = offers.requests
    assert request.preferred_agent == "olga" and "repeat_caller" not in request.tags  # no number
    assert pool.asked[0][2] == 7


async def test_given_no_prepare_when_enqueued_then_the_facts_are_looked_up_then() -> None:
    pool, offers = Pool(), Offers()
    pool.release.set()
    await handoff(pool, offers).enqueue("c2", "PJSIP/carrier-2", REQUIREMENTS, CONTEXT)
    assert len(pool.asked) == 1 and offers.requests[0].preferred_agent == "olga"
