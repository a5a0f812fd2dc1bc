"""Offers in the tracker: the Originates the server sends, the agent channels they make, and
what became of each.

Asterisk quirks this relies on: ``OriginateResponse`` ``Reason`` is 0 both for a busy phone and
an unregistered one; the Hangup cause (17 busy, 19 no answer) tells them apart. The agent's
channel is recognised by the dial string's channel-name prefix, and by the ``CC_CALL`` variable
the Originate sets on it.
"""

from __future__ import annotations

from callcenter.ami.messages import Action, AmiEvent
from callcenter.calls.events import AgentAnswered, AgentLegFailed, AgentRinging, OfferSent, Queued
from callcenter.calls.grouping import CallIndex, local_base
from callcenter.calls.model import (
    Call,
    CallState,
    HangupCause,
    LegRole,
    Offer,
    OfferResult,
    OriginateReason,
    Side,
)

_CAUSE_RESULTS: dict[int, OfferResult] = {
    HangupCause.NO_ANSWER: OfferResult.NO_ANSWER,
    HangupCause.NO_USER_RESPONSE: OfferResult.NO_ANSWER,
    HangupCause.USER_BUSY: OfferResult.BUSY,
    HangupCause.SUBSCRIBER_ABSENT: OfferResult.UNAVAILABLE,
    HangupCause.NO_ROUTE_DESTINATION: OfferResult.UNAVAILABLE,
    HangupCause.UNALLOCATED: OfferResult.UNAVAILABLE,
    HangupCause.DESTINATION_OUT_OF_ORDER: OfferResult.UNAVAILABLE,
    HangupCause.NETWORK_OUT_OF_ORDER: OfferResult.UNAVAILABLE,
    HangupCause.NORMAL_CLEARING: OfferResult.CANCELLED,
}
_REASON_RESULTS: dict[str, OfferResult] = {
    OriginateReason.NO_ANSWER: OfferResult.NO_ANSWER,
    OriginateReason.BUSY: OfferResult.BUSY,
    OriginateReason.CONGESTION: OfferResult.UNAVAILABLE,
}


def dial_prefix(dial_string: str) -> str:
    """The channel-name prefix an Originate's dial string produces.

    ``PJSIP/1002`` → ``PJSIP/1002-``; ``Local/1001@sim-agent/n`` → ``Local/1001@sim-agent-``.
    """
    tech, _, rest = dial_string.partition("/")
    rest = rest.split("/", 1)[0]
    if tech != "Local":
        rest = rest.split("@", 1)[0]
    return f"{tech}/{rest}-"


def offer_result_for_cause(cause: int | None) -> OfferResult:
    """What an agent leg's Hangup cause says of its unanswered offer."""
    return _CAUSE_RESULTS.get(cause, OfferResult.FAILED) if cause is not None else OfferResult.FAILED


def match_offer(ix: CallIndex, channel: str) -> tuple[str, Offer] | None:
    """The newest open offer whose dial string makes this channel (an agent rings for one
    call at a time, so an older open offer to the same phone is stale)."""
    ix.open_offers = [o for o in ix.open_offers if o[2].open and o[1] in ix.calls]
    for i in range(len(ix.open_offers) - 1, -1, -1):
        prefix, key, offer = ix.open_offers[i]
        if channel.startswith(prefix):
            if local_base(channel) is None or channel.endswith(";1"):
                del ix.open_offers[i]
            return key, offer
    return None


def unplaced(ix: CallIndex, channel: str) -> bool:
    """The channel is the agent leg of an offer for a caller the tracker never saw (it started
    before the tracker did): it is dropped, not taken for a new call."""
    for i, prefix in enumerate(ix.unplaced_offers):
        if channel.startswith(prefix) and (local_base(channel) is None or channel.endswith(";1")):
            del ix.unplaced_offers[i]
            return True
    return False


def ringing(ix: CallIndex, call: Call, offer: Offer, at: float) -> None:
    if offer.result is OfferResult.PENDING:
        offer.result = OfferResult.RINGING
        ix.emit(AgentRinging(offer.call_id or call.linkedid, at, offer.action_id, offer.agent_channel))
    if call.state in (CallState.IVR, CallState.QUEUED):
        call.state = CallState.OFFERED


def answered(ix: CallIndex, call: Call, offer: Offer, at: float) -> None:
    """The offer is answered (reported rung first, if its ringing was not seen)."""
    if offer.result is OfferResult.ANSWERED:
        return
    call_id = offer.call_id or call.linkedid
    if offer.result is OfferResult.PENDING:
        ix.emit(AgentRinging(call_id, at, offer.action_id, offer.agent_channel))
    offer.result = OfferResult.ANSWERED
    ix.emit(AgentAnswered(call_id, at, offer.action_id, offer.agent_channel))


def failed(ix: CallIndex, call: Call, offer: Offer, result: OfferResult, at: float) -> None:
    """The offer ended unanswered; the call waits for the next one."""
    offer.result = result
    offer.ended_at = at
    ix.emit(AgentLegFailed(offer.call_id or call.linkedid, at, offer.action_id, result, offer.cause,
                           offer.reason))


def originate_response(ix: CallIndex, event: AmiEvent) -> str | None:
    entry = ix.offers_by_action.pop(event.action_id, None)
    if entry is None:
        return None
    key, offer = entry
    key = ix.merged.get(key, key)
    if event.get("Response") == "Success":
        return key if key in ix.calls else None
    call = ix.calls.get(key)
    if offer.open:
        offer.reason = event.get("Reason")
        if not offer.agent_uniqueid:
            result = _REASON_RESULTS.get(offer.reason, OfferResult.UNAVAILABLE)
            if call is not None:
                failed(ix, call, offer, result, event.received_at)
            offer.result = result
        offer.ended_at = event.received_at
    ix.open_offers = [o for o in ix.open_offers if o[2] is not offer]
    if call is not None and call.state is CallState.OFFERED and not any(o.open for o in call.offers):
        call.state = CallState.QUEUED
    return key if call is not None else None


def tagged(ix: CallIndex, event: AmiEvent) -> str | None:
    """``CC_CALL`` set on a channel: it is the agent leg of that call's offer."""
    entry = ix.offers_by_tag.get(event.get("Value"))
    uid = event.get("Uniqueid")
    current = ix.leg_call.get(uid)
    if entry is None or current is None:
        return current
    key, offer = entry
    if key not in ix.calls:
        key = ix.merged.get(key, key)
    if current != key and key in ix.calls:
        leg = ix.calls[current].legs[uid]
        leg.side, leg.offer = Side.AGENT, offer
        if leg.role is LegRole.CALLER:
            leg.role = LegRole.AGENT
        ix.join(uid, key)
    return key


AGENT_VARIABLE = "CC_AGENT"  # the Originate of an offer names the agent it rings


def send_offer(ix: CallIndex, action: Action, action_id: str, at: float) -> str | None:
    """The server sent an Originate into ``Bridge(<caller channel>)``."""
    caller_channel = action.header("Data").split(",", 1)[0]
    key = ix.call_of_channel(caller_channel)
    if key is None:
        ix.unplaced_offers = [*ix.unplaced_offers[-63:], dial_prefix(action.header("Channel"))]
        return None
    tag = agent = ""
    for name, value in action.headers:
        if name == "Variable" and value.startswith(f"{ix.config.call_tag_variable}="):
            tag = value.split("=", 1)[1]
        elif name == "Variable" and value.startswith(f"{AGENT_VARIABLE}="):
            agent = value.split("=", 1)[1]
    dial = action.header("Channel")
    offer = Offer(action_id, dial, caller_channel, at, call_tag=tag, call_id=key, agent_id=agent)
    call = ix.calls[key]
    call.offers.append(offer)
    ix.offers_by_action[action_id] = (key, offer)
    if tag:
        ix.offers_by_tag[tag] = (key, offer)
    ix.open_offers.append((dial_prefix(dial), key, offer))
    if call.state in (CallState.IVR, CallState.QUEUED):
        call.state = CallState.OFFERED
    ix.emit(OfferSent(key, at, action_id, dial, tag))
    return key


def mark_queued(ix: CallIndex, call: Call, at: float) -> None:
    """The call waits for an agent from ``at`` (first time only)."""
    if call.queued_at is None:
        call.queued_at = at
        ix.emit(Queued(call.linkedid, at))
