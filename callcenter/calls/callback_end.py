"""How a callback call ends (see :mod:`callcenter.calls.callbacks`): each leg's end says what it
means (the agent never answered, the customer never answered, or one of them hung up after
talking); the call ends once none of its channels is left.

Who ended it: the server (it sent ``Hangup`` for one of the channels), the agent who declined
the ring (busy) or the system (the ring timed out), the customer who was busy (the system when
their phone just rang out), else the side whose channel asked to hang up first.
"""

from __future__ import annotations

from callcenter.calls.callbacks import agent_failed, customer_failed
from callcenter.calls.events import AgentHungUp, CallEnded, CallerHungUp
from callcenter.calls.grouping import CallIndex
from callcenter.calls.hold import end_hold
from callcenter.calls.model import (
    Call,
    CallState,
    HangupBy,
    HangupCause,
    Leg,
    OfferResult,
    Outcome,
    Side,
)
from callcenter.calls.offer_match import offer_result_for_cause


def callback_leg_ended(ix: CallIndex, call: Call, leg: Leg, at: float) -> None:
    """A channel of a callback call hung up (``leg.ended_at`` and cause already set)."""
    offer = leg.offer
    if offer is not None and offer.open:
        offer.cause, offer.ended_at = leg.hangup_cause, at
        offer.result = offer_result_for_cause(leg.hangup_cause)
        agent_failed(ix, call, offer, at)
    elif leg.uniqueid == call.agent_uniqueid:
        ix.emit(AgentHungUp(call.linkedid, at, leg.channel, leg.hangup_cause))
    elif leg.uniqueid == call.caller_uniqueid and call.answered_at is None:
        customer_failed(ix, call, leg, at)
    elif leg.uniqueid == call.caller_uniqueid:
        ix.emit(CallerHungUp(call.linkedid, at, leg.channel, leg.hangup_cause))
    if call.live and all(other.ended_at is not None for other in call.legs.values()):
        _end(ix, call, at)


def _end(ix: CallIndex, call: Call, at: float) -> None:
    end_hold(call, at)
    reached = call.caller if call.caller is not None else call.agent
    call.ended_at = at
    call.hangup_cause = reached.hangup_cause if reached is not None else None
    call.hangup_by = _who_ended(ix, call, at)
    call.outcome = Outcome.ANSWERED if call.answered_at is not None else Outcome.FAILED
    call.state = CallState.ENDED
    ix.emit(CallEnded(call.linkedid, at, call.outcome, call.hangup_by, call.hangup_cause, None))


def _who_ended(ix: CallIndex, call: Call, at: float) -> HangupBy:
    sent = [ix.server_hangups.pop(leg.channel, None) for leg in call.legs.values()]
    if any(t is not None and t <= at + 1e-6 for t in sent):
        return HangupBy.SERVER
    offer = call.offers[0] if call.offers else None
    if offer is not None and offer.result is not OfferResult.ANSWERED:
        return HangupBy.AGENT if offer.result is OfferResult.BUSY else HangupBy.SYSTEM
    customer = call.caller
    if call.answered_at is None:
        busy = customer is not None and (customer.dial_status == "BUSY"
                                         or customer.hangup_cause == HangupCause.USER_BUSY)
        return HangupBy.CALLER if busy else HangupBy.SYSTEM
    first = call.legs.get(call.first_hangup[0]) if call.first_hangup else None
    if first is None:
        return HangupBy.SYSTEM
    return HangupBy.AGENT if first.side is Side.AGENT else HangupBy.CALLER
