"""Routing's side of the callback offer the IVR plays during the hold
(:class:`ivr.hold_offer.CallbackOffers`): which callers the router offered a callback, whether
their call still waits, and their answer."""

from __future__ import annotations

from callcenter.routing.callbacks import CallbackAdapter
from callcenter.routing.decisions import OfferCallback
from callcenter.routing.engine import RoutingEngine

MAX_PENDING = 10_000


class CallbackBoard:
    """Args:
        engine: the routing engine (where the call stands).
        adapter: the callback edge (takes the callback, stores the answer).
    """

    def __init__(self, engine: RoutingEngine, adapter: CallbackAdapter) -> None:
        self._engine = engine
        self._adapter = adapter
        self._pending: set[str] = set()
        adapter.add_offer_listener(self.offered)

    def offered(self, decision: OfferCallback) -> None:
        """The router offers this caller a callback (the IVR plays it at the next pause)."""
        if len(self._pending) >= MAX_PENDING:  # callers who left before hearing it
            self._pending = {c for c in self._pending if self._engine.call_status(c) is not None}
        self._pending.add(decision.call_id)

    def pending(self, call_id: str) -> bool:
        if call_id in self._pending and self._engine.call_status(call_id) is None:
            self._pending.discard(call_id)
        return call_id in self._pending

    def offer_in(self, call_id: str) -> float | None:
        if self.pending(call_id):
            return 0.0
        return self._engine.callback_offer_in(call_id)

    def offer_after(self, skill: str) -> float | None:
        steps = self._engine.policy.for_skill(skill).steps
        return next((step.after_s for step in steps if step.offer_callback), None)

    def waiting(self, call_id: str) -> bool:
        status = self._engine.call_status(call_id)
        return status is not None and status.status == "waiting"

    def take(self, call_id: str, number: str) -> None:
        """Raises: ValueError (not a number to call back)."""
        self._adapter.take(call_id, number)
        self._pending.discard(call_id)

    def decline(self, call_id: str) -> None:
        self._pending.discard(call_id)
        self._adapter.declined(call_id)
