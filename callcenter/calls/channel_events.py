"""The tracker's handlers of channel events: channels appear, ring, answer, run the IVR, wait
on hold, bridge, record. Each takes the index and the event and returns the key of the call it
is about (None when the event is about no known call), emitting what happened on the way.

Asterisk quirks: a channel pulled out of AsyncAGI by Bridge gets no AsyncAGIEnd (the call
ends on Hangup); the queue's hold music runs under AGI too, so ``MusicOnHoldStart`` is what
tells a queued caller from one in the IVR.
"""

from __future__ import annotations

from callcenter.ami.messages import AmiEvent
from callcenter.calls.callbacks import callback_channel, customer_answered, customer_leg
from callcenter.calls.events import (
    AgentLegCreated,
    Bridged,
    CallArrived,
    EnteredIvr,
    Held,
    RecordingPaused,
    RecordingStarted,
    Transferred,
)
from callcenter.calls.external import EXTERNAL_CONTEXT, dialled_outside, sent_outside
from callcenter.calls.grouping import CallIndex, clean, local_base
from callcenter.calls.hold import music_started
from callcenter.calls.model import Call, CallState, Leg, LegRole, Side
from callcenter.calls.offer_match import (
    answered,
    mark_queued,
    match_offer,
    ringing,
    tagged,
    unplaced,
)

_DIGITS = "0123456789*#ABCD"


def newchannel(ix: CallIndex, event: AmiEvent) -> str | None:
    f = event.frame.fields
    uid, channel, linkedid = f.get("Uniqueid", ""), f.get("Channel", ""), f.get("Linkedid", "")
    if not uid or uid in ix.leg_call or f.get("Context") in ix.config.helper_contexts \
            or channel.startswith(ix.config.ignored_prefixes):
        return None
    at = event.received_at
    half = local_base(channel)
    inner = half is not None and half[1] == "2"
    partner = ix.partner(channel)
    if partner is not None and partner in ix.leg_call:
        return _beside_partner(ix, partner, Leg(uid, channel, linkedid, LegRole.CALLER, Side.CALLER, at),
                               inner, f)
    if ix.pending_callbacks:
        started = callback_channel(ix, Leg(uid, channel, linkedid, LegRole.AGENT, Side.AGENT, at), f)
        if started is not None:
            return started
    matched = match_offer(ix, channel)
    if matched is None and ix.unplaced_offers and unplaced(ix, channel):
        return None
    if matched is not None:
        key, offer = matched
        role = LegRole.LOCAL if inner else LegRole.AGENT
        ix.new_leg(key, Leg(uid, channel, linkedid, role, Side.AGENT, at, offer=offer), f)
        if role is LegRole.AGENT:
            offer.agent_channel, offer.agent_uniqueid = channel, uid
            ix.emit(AgentLegCreated(key, at, offer.action_id, channel, uid))
        return key
    linked_key = ix.leg_call.get(linkedid) if linkedid != uid else None
    if linked_key is not None:
        if customer_leg(ix, linked_key, Leg(uid, channel, linkedid, LegRole.CALLER, Side.CALLER, at), f):
            return linked_key
        ix.new_leg(linked_key, Leg(uid, channel, linkedid, LegRole.OTHER, Side.CALLER, at), f)
        return linked_key
    outer = half is not None and half[1] == "1"
    return _new_call(ix, Leg(uid, channel, linkedid, LegRole.LOCAL if outer else LegRole.CALLER,
                             Side.CALLER, at), f)


def _beside_partner(ix: CallIndex, partner_uid: str, leg: Leg, inner: bool, f: dict[str, str]) -> str:
    """The second half of a Local pair joins the call of the first, on its side."""
    key = ix.leg_call[partner_uid]
    call = ix.calls[key]
    partner = call.legs[partner_uid]
    if partner.side is Side.AGENT:
        leg.side, leg.offer = Side.AGENT, partner.offer
        leg.role = LegRole.LOCAL if inner else LegRole.AGENT
        ix.new_leg(key, leg, f)
    else:
        ix.new_leg(key, leg, f)
        call.caller_uniqueid = leg.uniqueid
        partner.role = LegRole.LOCAL
    return key


def _new_call(ix: CallIndex, leg: Leg, f: dict[str, str]) -> str:
    key = leg.linkedid or leg.uniqueid
    if key in ix.calls:
        key = leg.uniqueid
    ix.calls[key] = Call(linkedid=key, arrived_at=leg.created_at)
    ix.new_leg(key, leg, f)
    if leg.role is LegRole.CALLER:
        ix.calls[key].caller_uniqueid = leg.uniqueid
    ix.emit(CallArrived(key, leg.created_at, leg.channel, leg.caller_number, leg.caller_name))
    return key


def newstate(ix: CallIndex, event: AmiEvent) -> str | None:
    found = ix.leg(event)
    if found is None:
        return None
    call, leg = found
    state = event.get("ChannelStateDesc")
    if state == "Up" and leg.answered_at is None:
        leg.answered_at = event.received_at
        customer_answered(call, leg, event.received_at)
        if leg.offer is not None and leg.role is LegRole.AGENT and leg.offer.open:
            answered(ix, call, leg.offer, event.received_at)
    elif state == "Ringing" and leg.offer is not None:
        ringing(ix, call, leg.offer, event.received_at)
    return call.linkedid


def newcallerid(ix: CallIndex, event: AmiEvent) -> str | None:
    found = ix.leg(event)
    if found is None:
        return None
    call, leg = found
    leg.caller_number = clean(event.get("CallerIDNum"))
    leg.caller_name = clean(event.get("CallerIDName"))
    return call.linkedid


def dialbegin(ix: CallIndex, event: AmiEvent) -> str | None:
    """The caller's own channel dials someone (the dialplan's safety net rings the agents'
    hunt group): the destination is an agent leg of this call, answered when it bridges."""
    found = ix.leg(event)
    if found is None:
        return None
    call, leg = found
    dest = call.legs.get(event.get("DestUniqueid"))
    if leg.uniqueid != call.caller_uniqueid or dest is None or dest is leg or dest.side is Side.AGENT:
        return call.linkedid
    if dialled_outside(call, dest):
        return call.linkedid
    dest.side, dest.role = Side.AGENT, LegRole.AGENT
    return call.linkedid


def dialstate(ix: CallIndex, event: AmiEvent) -> str | None:
    key = ix.leg_call.get(event.get("DestUniqueid"))
    if key is None:
        return None
    call = ix.calls[key]
    leg = call.legs[event.get("DestUniqueid")]
    if event.get("DialStatus") == "RINGING" and leg.offer is not None:
        ringing(ix, call, leg.offer, event.received_at)
    return key


def dialend(ix: CallIndex, event: AmiEvent) -> str | None:
    key = ix.leg_call.get(event.get("DestUniqueid"))
    if key is None:
        return None
    ix.calls[key].legs[event.get("DestUniqueid")].dial_status = event.get("DialStatus")
    return key


def agi_start(ix: CallIndex, event: AmiEvent) -> str | None:
    found = ix.leg(event)
    if found is None:
        return None
    call, leg = found
    if leg.side is Side.CALLER:
        caller = call.caller
        if caller is None or caller.role is not LegRole.CALLER:
            call.caller_uniqueid = leg.uniqueid
        leg.agi_ended = False
        # back with the server: an outside number it was sent to was never dialled (the carrier
        # refused the channel) or its dial is over, so no later dial of the caller's is it
        call.external_to = ""
        context = event.get("Context")
        if context in ix.config.survey_contexts:
            call.in_survey = True
        if call.state is not CallState.TALKING:
            call.state = CallState.IVR
        ix.emit(EnteredIvr(call.linkedid, event.received_at, context, call.in_survey))
    return call.linkedid


def agi_end(ix: CallIndex, event: AmiEvent) -> str | None:
    found = ix.leg(event)
    if found is None:
        return None
    found[1].agi_ended = True
    return found[0].linkedid


def dtmf_end(ix: CallIndex, event: AmiEvent) -> str | None:
    found = ix.leg(event)
    if found is None:
        return None
    call, leg = found
    if leg.uniqueid == call.caller_uniqueid and event.get("Direction") == "Received":
        digit = event.get("Digit")
        if len(digit) == 1 and digit in _DIGITS and len(call.digits) < 256:
            call.digits += digit
    return call.linkedid


def moh_start(ix: CallIndex, event: AmiEvent) -> str | None:
    found = ix.leg(event)
    if found is None:
        return None
    call, leg = found
    if leg.uniqueid != call.caller_uniqueid:
        return call.linkedid
    if call.state is CallState.IVR and not call.in_survey:
        call.state = CallState.QUEUED
        mark_queued(ix, call, event.received_at)
    elif call.state is CallState.TALKING:
        music_started(call, event.received_at)
        ix.emit(Held(call.linkedid, event.received_at, leg.channel))
    return call.linkedid


def bridge_enter(ix: CallIndex, event: AmiEvent) -> str | None:
    found = ix.leg(event)
    if found is None:
        return None
    call, leg = found
    bridge_id = event.get("BridgeUniqueid")
    leg.bridge_id = bridge_id
    ix.bridges.setdefault(bridge_id, set()).add(leg.uniqueid)
    call = ix.merge_bridge(call, bridge_id)
    check_talking(ix, call, bridge_id, event.received_at)
    return call.linkedid


def check_talking(ix: CallIndex, call: Call, bridge_id: str, at: float) -> None:
    """The caller shares a bridge with a live agent leg: they talk."""
    members = ix.bridges.get(bridge_id, set())
    if call.caller_uniqueid not in members:
        return
    agents = sorted((leg for uid in members if (leg := call.legs.get(uid)) is not None
                     and leg.side is Side.AGENT and leg.ended_at is None),
                    key=lambda leg: (leg.uniqueid != call.agent_uniqueid, leg.created_at))
    for leg in agents[1:]:  # a three-way: the others talk to the caller too
        if leg.talk_from is None:
            leg.talk_from = at
    if agents:
        _connect(ix, call, agents[0], at)


def _connect(ix: CallIndex, call: Call, leg: Leg, at: float) -> None:
    before = (call.state, call.agent_uniqueid)
    first = call.bridged_at is None
    leg.role = LegRole.AGENT
    call.agent_uniqueid = leg.uniqueid
    call.state = CallState.TALKING
    if leg.talk_from is None:
        leg.talk_from = at
    if call.bridged_at is None:
        call.bridged_at = at
    if call.answered_at is None:
        call.answered_at = leg.answered_at or at
    action_id = ""
    if leg.offer is not None:
        leg.offer.agent_channel, leg.offer.agent_uniqueid = leg.channel, leg.uniqueid
        answered(ix, call, leg.offer, at)
        action_id = leg.offer.action_id
    if before != (CallState.TALKING, leg.uniqueid):
        ix.emit(Bridged(call.linkedid, at, leg.channel, leg.uniqueid, action_id, first,
                        call.answered_at or at))


def bridge_leave(ix: CallIndex, event: AmiEvent) -> str | None:
    bridge_id = event.get("BridgeUniqueid")
    members = ix.bridges.get(bridge_id)
    if members is not None:
        members.discard(event.get("Uniqueid"))
        if not members:
            del ix.bridges[bridge_id]
    found = ix.leg(event)
    if found is None:
        return None
    found[1].bridge_id = ""
    return found[0].linkedid


def varset(ix: CallIndex, event: AmiEvent) -> str | None:
    variable = event.get("Variable")
    if variable == ix.config.call_tag_variable:
        return tagged(ix, event)
    if variable != "MIXMONITOR_FILENAME":
        return None
    found = ix.leg(event)
    if found is None:
        return None
    call = found[0]
    path = event.get("Value")
    if path and path not in call.recordings:
        call.recordings.insert(0, path)
        ix.emit(RecordingStarted(call.linkedid, event.received_at, path))
    return call.linkedid


def mixmonitor_mute(ix: CallIndex, event: AmiEvent) -> str | None:
    found = ix.leg(event)
    if found is None:
        return None
    call = found[0]
    at = event.received_at
    if event.get("State") == "1":
        call.recording_pauses.append((at, None))
        ix.emit(RecordingPaused(call.linkedid, at, True))
    elif call.recording_pauses and call.recording_pauses[-1][1] is None:
        call.recording_pauses[-1] = (call.recording_pauses[-1][0], at)
        ix.emit(RecordingPaused(call.linkedid, at, False))
    return call.linkedid


def transfer(ix: CallIndex, event: AmiEvent) -> str | None:
    """``BlindTransfer`` / ``AttendedTransfer`` of a channel of a known call."""
    uid = event.get("TransfererUniqueid") or event.get("OrigTransfererUniqueid")
    key = ix.leg_call.get(uid)
    if key is None or event.get("Result") not in ("", "Success"):
        return None
    call = ix.calls[key]
    target = event.get("Extension") or event.get("TransferTargetChannel")
    leg = call.legs[uid]
    if uid == call.agent_uniqueid and call.state is CallState.TALKING \
            and event.name == "BlindTransfer":
        # the agent sent the caller away (to routing again, or outside): their talk is over
        call.state = CallState.QUEUED
        if event.get("Context") == EXTERNAL_CONTEXT:
            target = sent_outside(call, leg, target)
        else:
            leg.ended_how, leg.transferred_to = "transfer", target
            call.transfers += 1
    ix.emit(Transferred(key, event.received_at, leg.channel, target))
    return key
