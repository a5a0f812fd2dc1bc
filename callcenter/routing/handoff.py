"""From the IVR to skill-based routing: the call's requirements plus what makes it urgent.

The IVR says which skill, level and language; this adds the priority facts the routing policy
weighs (VIP tier, order value, repeat caller within 24 h, callback) and the owner of the
caller's open ticket for sticky routing. The two database look-ups are bounded by a short
timeout: a slow database costs the call its stickiness, never its place in the queue. They start
when the IVR begins routing (:meth:`RoutingHandoff.prepare`), while Asterisk starts the hold
music, so the offer does not wait for them after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import asyncpg
import structlog

from callcenter.calls.model import Call
from callcenter.clock import wall_time
from callcenter.routing import events as ev
from callcenter.routing.engine import RoutingEngine
from callcenter.routing.offers import OfferAdapter
from ivr.effects import RouteRequirements
from ivr.model import Scalar

log = structlog.get_logger("callcenter.calls")

_FACTS = """
SELECT
  EXISTS (SELECT 1 FROM calls WHERE caller_number = $1 AND linkedid <> $2
          AND arrived_at > $4::timestamptz - interval '24 hours') AS repeat_caller,
  (SELECT a.login FROM tickets t JOIN agents a ON a.id = t.owner_agent_id
    WHERE t.customer_id = $3 AND t.status NOT IN ('resolved', 'closed')
    ORDER BY t.reply_due_at NULLS LAST, t.id LIMIT 1) AS ticket_owner
"""


class RoutingHandoff:
    """The IVR's ``RouteSink``: queues calls with the offer adapter.

    Args:
        offers: the routing edge that originates offers.
        engine: the routing engine (to know whether a call is already ringing an agent).
        pool: for the repeat-caller and ticket-owner facts.
        call_of: the tracker's call for a linkedid (caller number and name).
        lookup_timeout_s: how long the facts may take before the call is queued without them.
        on_queued: told the linkedid and the time when the call first waits for an agent (the
            dispatcher's ``queued``: the tracker stamps ``queued_at`` and the row is stored).
    """

    def __init__(self, offers: OfferAdapter, engine: RoutingEngine, pool: asyncpg.Pool,
                 call_of: Callable[[str], Call | None], lookup_timeout_s: float = 0.3,
                 clock: Callable[[], float] = wall_time,
                 on_queued: Callable[[str, float], None] | None = None) -> None:
        self._clock = clock
        self._on_queued = on_queued
        self._offers = offers
        self._engine = engine
        self._pool = pool
        self._call_of = call_of
        self._timeout = lookup_timeout_s
        self._prefetched: dict[str, asyncio.Future[tuple[bool, str | None]]] = {}
        self._keep_s = 60.0

    def prepare(self, call_id: str, context: Mapping[str, Scalar]) -> None:
        """Look the routing facts up now, while the IVR starts the hold music; :meth:`enqueue`
        takes them (a look-up nobody takes is dropped once done and ``keep_s`` later)."""
        _, number, _ = self._caller(call_id)
        task = asyncio.ensure_future(self._facts(call_id, number, context))
        self._prefetched[call_id] = task

        def forget(_: object) -> None:
            if self._prefetched.get(call_id) is task:
                del self._prefetched[call_id]

        task.add_done_callback(lambda _: asyncio.get_running_loop().call_later(self._keep_s, forget, None))

    async def enqueue(self, call_id: str, channel: str, requirements: RouteRequirements,
                      context: Mapping[str, Scalar]) -> None:
        prefetched = self._prefetched.pop(call_id, None)
        facts = await (prefetched or self._facts(call_id, self._caller(call_id)[1], context))
        self._queue(call_id, channel, requirements, context, facts)

    def enqueue_now(self, call_id: str, channel: str, requirements: RouteRequirements,
                    context: Mapping[str, Scalar]) -> bool:
        """Queue the call in this turn of the loop when :meth:`prepare`'s look-up is done (the
        router may offer it before this returns); False when it is not (nothing done)."""
        prefetched = self._prefetched.get(call_id)
        if prefetched is None or not prefetched.done() or prefetched.cancelled():
            return False
        del self._prefetched[call_id]
        self._queue(call_id, channel, requirements, context, prefetched.result())
        return True

    def _queue(self, call_id: str, channel: str, requirements: RouteRequirements,
               context: Mapping[str, Scalar], facts: tuple[bool, str | None]) -> None:
        call, number, name = self._caller(call_id)
        repeat, owner = facts
        tags = set(requirements.tags)
        if context.get("customer.tier") == "vip" or context.get("order.customer_tier") == "vip":
            tags.add("vip")
        if context.get("callback"):
            tags.add("callback")
        chosen = context.get("transfer.agent")  # an agent's transfer to a colleague
        owner = chosen if isinstance(chosen, str) and chosen else owner
        if repeat:
            tags.add("repeat_caller")
        total = context.get("order.total_cents") or context.get("last_order.total_cents") or 0
        order_value = float(total) / 100 if isinstance(total, int | float) else 0.0
        request = ev.CallRequest(call_id, requirements.skill, requirements.min_level,
                                 requirements.language, requirements.priority, frozenset(tags),
                                 order_value, preferred_agent=owner)
        if call is not None and call.queued_at is None and self._on_queued is not None:
            # ready to route from now: the router may offer before hold music starts, and the
            # KPIs (ASA, service level) count from here, as the router does
            self._on_queued(call_id, self._clock())
        self._offers.enqueue(request, channel, number, name)

    def _caller(self, call_id: str) -> tuple[Call | None, str, str]:
        call = self._call_of(call_id)
        caller = call.caller if call is not None else None
        if caller is None:
            return call, "", ""
        return call, caller.caller_number, caller.caller_name

    async def withdraw(self, call_id: str) -> bool:
        status = self._engine.call_status(call_id)
        if status is None:
            return True
        if status.status != "waiting":
            return False
        self._offers.callback_accepted(call_id)
        return True

    async def _facts(self, call_id: str, number: str, context: Mapping[str, Scalar]
                     ) -> tuple[bool, str | None]:
        customer = context.get("customer.id") or context.get("order.customer_id")
        customer_id = int(customer) if isinstance(customer, int | str) and str(customer).isdigit() else None
        try:
            now = datetime.fromtimestamp(self._clock(), UTC)
            row = await asyncio.wait_for(
                self._pool.fetchrow(_FACTS, number, call_id, customer_id, now), self._timeout)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("routing_facts_unavailable", call_id=call_id, error=type(exc).__name__)
            return False, None
        if row is None:
            return False, None
        return bool(row["repeat_caller"] and number), row["ticket_owner"]
