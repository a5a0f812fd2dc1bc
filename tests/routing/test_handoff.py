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


async def test_given_the_facts_not_yet_in_when_enqueued_now_then_nothing_is_done_and_enqueue_takes_over() -> None:
    pool, offers = Pool(), Offers()
    routing = handoff(pool, offers)
    routing.prepare("c3", CONTEXT)
    assert not routing.enqueue_now("c3", "PJSIP/carrier-3", REQUIREMENTS, CONTEXT)
    assert offers.requests == []
    pool.release.set()
    await routing.enqueue("c3", "PJSIP/carrier-3", REQUIREMENTS, CONTEXT)
    assert len(pool.asked) == 1 and offers.requests[0].preferred_agent == "olga"


async def test_given_the_facts_in_when_enqueued_now_then_queued_at_once_with_them() -> None:
    pool, offers = Pool(), Offers()
    pool.release.set()
    routing = handoff(pool, offers)
    routing.prepare("c4", CONTEXT)
    assert not routing.enqueue_now("c5", "PJSIP/carrier-5", REQUIREMENTS, CONTEXT)  # never prepared
    queued = False
    for _ in range(100):  # the look-up's task completes within a few turns of the loop
        await asyncio.sleep(0)
        queued = routing.enqueue_now("c4", "PJSIP/carrier-4", REQUIREMENTS, CONTEXT)
        if queued:
            break
    assert queued and len(pool.asked) == 1
    (request,) = offers.requests
    assert request.call_id == "c4" and request.preferred_agent == "olga" and request.skill == "orders"
