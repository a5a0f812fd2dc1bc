"""Callbacks in the tracker: the server rings an agent's phone into the callback context and,
once the agent answers, the dialplan dials the customer through the carrier.

The call is keyed by the agent channel's Linkedid (the first channel); its *agent* leg is the
agent's channel (answered when the agent answers), its *caller* leg is the customer's carrier
leg (the call is answered when the customer answers, talking from the bridge). A customer who is
busy or does not answer, or an agent who never answers, is a failed callback: outcome ``failed``,
never an IVR hang-up or an abandon. ``callback_of`` names the original call.

Asterisk facts this relies on (``tests/data/pbx-captures/callback_*.jsonl``): the Originate has
``Context: cc-callback`` and ``Variable: CC_CALLBACK=<linkedid>``; the agent's channel is created
in the endpoint's context and moves to ``cc-callback`` once answered; the carrier leg is created
with the agent channel's Linkedid; a busy customer ends with ``DialEnd`` ``BUSY`` and Hangup
cause 17 on both legs.
"""

from __future__ import annotations

from callcenter.ami.messages import Action
from callcenter.calls.events import CallbackFailed, CallbackStarted, CustomerDialed
from callcenter.calls.grouping import CallIndex
from callcenter.calls.model import Call, CallState, Direction, Leg, LegRole, Offer, OfferResult, Side
from callcenter.calls.offer_match import AGENT_VARIABLE, dial_prefix, offer_result_for_cause

_DIAL_RESULTS: dict[str, OfferResult] = {
    "BUSY": OfferResult.BUSY,
    "NOANSWER": OfferResult.NO_ANSWER,
    "CONGESTION": OfferResult.UNAVAILABLE,
    "CHANUNAVAIL": OfferResult.UNAVAILABLE,
    "CANCEL": OfferResult.CANCELLED,
}


def is_callback(ix: CallIndex, action: Action) -> bool:
    """An Originate of an agent's phone into the callback context, naming the original call."""
    return (action.name == "Originate" and action.header("Context") in ix.config.callback_contexts
            and bool(_variables(action).get(ix.config.callback_variable)))


def send_callback(ix: CallIndex, action: Action, action_id: str, at: float) -> None:
    """Remember the callback until its agent channel appears (nothing happened to a call yet)."""
    variables = _variables(action)
    dial = action.header("Channel")
    offer = Offer(action_id, dial, "", at, agent_id=variables.get(AGENT_VARIABLE, ""))
    ix.pending_callbacks = [p for p in ix.pending_callbacks if p[1].open][-63:]
    ix.pending_callbacks.append((dial_prefix(dial), offer, variables[ix.config.callback_variable],
                                 variables.get(ix.config.callback_number_variable, "")))


def callback_answered(ix: CallIndex, action_id: str) -> None:
    """The Originate of a callback got its ``OriginateResponse`` (after its channel, if any, was
    seen): a callback whose phone made no channel (unregistered) is forgotten, so a later
    offer to the same phone is not taken for it."""
    if ix.pending_callbacks:
        ix.pending_callbacks = [p for p in ix.pending_callbacks if p[1].action_id != action_id]


def callback_channel(ix: CallIndex, leg: Leg, fields: dict[str, str]) -> str | None:
    """A new channel that is the agent's leg of a callback sent: the callback call starts."""
    for i in range(len(ix.pending_callbacks) - 1, -1, -1):
        prefix, offer, original, number = ix.pending_callbacks[i]
        if leg.channel.startswith(prefix):
            del ix.pending_callbacks[i]
            break
    else:
        return None
    key = leg.linkedid or leg.uniqueid
    if key in ix.calls:
        key = leg.uniqueid
    call = Call(linkedid=key, arrived_at=leg.created_at, state=CallState.OFFERED,
                direction=Direction.CALLBACK, callback_of=original, callback_number=number)
    ix.calls[key] = call
    leg.role, leg.side, leg.offer = LegRole.AGENT, Side.AGENT, offer
    offer.agent_channel, offer.agent_uniqueid, offer.call_id = leg.channel, leg.uniqueid, key
    call.offers.append(offer)
    call.agent_uniqueid = leg.uniqueid
    ix.new_leg(key, leg, fields)
    ix.emit(CallbackStarted(key, leg.created_at, offer.action_id, leg.channel, original, number))
    return key


def listed_agent_leg(ix: CallIndex, call: Call, leg: Leg, context: str) -> None:
    """Rebuilding from the channel list: the first channel of a call, found in the callback
    context (where the agent's channel runs the dialplan's Dial of the customer once answered),
    is a callback's agent leg, not a caller; the next channel of the call is the customer's.
    Which call it calls back is not in the lists (the stored row tells it)."""
    if context not in ix.config.callback_contexts or call.direction is Direction.CALLBACK \
            or call.caller_uniqueid != leg.uniqueid or len(call.legs) != 1:
        return
    call.direction, call.state = Direction.CALLBACK, CallState.OFFERED
    leg.role, leg.side = LegRole.AGENT, Side.AGENT
    call.caller_uniqueid, call.agent_uniqueid = "", leg.uniqueid


def customer_leg(ix: CallIndex, key: str, leg: Leg, fields: dict[str, str]) -> bool:
    """The first other channel of a callback call is the customer's leg (the dialplan's Dial)."""
    call = ix.calls[key]
    if call.direction is not Direction.CALLBACK or call.caller_uniqueid:
        return False
    leg.role, leg.side = LegRole.CALLER, Side.CALLER
    ix.new_leg(key, leg, fields)
    call.caller_uniqueid = leg.uniqueid
    ix.emit(CustomerDialed(key, leg.created_at, leg.channel))
    return True


def customer_answered(call: Call, leg: Leg, at: float) -> None:
    """The customer picked up: the callback is answered (talking starts at the bridge)."""
    if call.direction is Direction.CALLBACK and leg.uniqueid == call.caller_uniqueid \
            and call.answered_at is None:
        call.answered_at = at


def customer_failed(ix: CallIndex, call: Call, leg: Leg, at: float) -> None:
    """The customer's leg ended unanswered: the callback failed on the customer's side."""
    result = _DIAL_RESULTS.get(leg.dial_status) or offer_result_for_cause(leg.hangup_cause)
    ix.emit(CallbackFailed(call.linkedid, at, Side.CALLER, result, leg.hangup_cause))


def agent_failed(ix: CallIndex, call: Call, offer: Offer, at: float) -> None:
    """The agent never answered the callback's ring."""
    ix.emit(CallbackFailed(call.linkedid, at, Side.AGENT, offer.result, offer.cause))


def _variables(action: Action) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in action.headers:
        if name == "Variable" and "=" in value:
            key, _, val = value.partition("=")
            out[key] = val
    return out
