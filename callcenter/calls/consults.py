"""Consults in the tracker: the agent's attended transfer to a colleague (the server's AMI
``Atxfer``, see :mod:`callcenter.control.consult`) rings the colleague's phone like an offer.

The ``Atxfer`` the server sends names the colleague (``CC-Agent``) and their dial string
(``CC-Dial``); their channel is recognised by the dial string's channel-name prefix, as an
offer's is, and becomes an agent leg of the call: rung, answered, and talking to the caller
from the moment it shares the caller's bridge (a completed transfer or a three-way). The
transfer's Local channels (``[cc-consult]``) are the PBX's plumbing, not legs of the call.
Asterisk's ``AttendedTransfer`` says how the consult ended: ``Bridge``/``Link`` (completed:
the agent's part is over) or ``Threeway`` (all three talk).
"""

from __future__ import annotations

from callcenter.ami.messages import Action, AmiEvent
from callcenter.calls.channel_events import check_talking
from callcenter.calls.events import Conferenced, ConsultEnded, Transferred
from callcenter.calls.grouping import CallIndex
from callcenter.calls.model import Call, CallState, Leg, Offer
from callcenter.calls.offer_match import dial_prefix

CONSULT_AGENT_HEADER = "CC-Agent"
CONSULT_DIAL_HEADER = "CC-Dial"


def send_consult(ix: CallIndex, action: Action, action_id: str, at: float) -> str | None:
    """The server sent ``Atxfer`` of the agent's channel: the colleague's phone will ring."""
    key = ix.call_of_channel(action.header("Channel"))
    dial = action.header(CONSULT_DIAL_HEADER)
    if key is None or not dial:
        return None
    call = ix.calls[key]
    caller = call.caller
    offer = Offer(action_id, dial, caller.channel if caller else "", at, call_id=key,
                  agent_id=action.header(CONSULT_AGENT_HEADER), consult=True)
    ix.open_offers.append((dial_prefix(dial), key, offer))
    return key


def attended_transfer(ix: CallIndex, event: AmiEvent) -> str | None:
    """``AttendedTransfer`` of the call's connected agent: completed (their talk with the
    caller is over: ``ended_how`` consult) or a three-way (``ended_how`` is set when they
    leave)."""
    uid = event.get("OrigTransfererUniqueid")
    key = ix.leg_call.get(uid)
    if key is None or event.get("Result") not in ("", "Success"):
        return None
    call = ix.calls[key]
    leg = call.legs[uid]
    # the colleague's login (the target channel is the transfer's Local channel)
    target = _agent_of(call) or event.get("TransferTargetChannel")
    if event.get("DestType") == "Threeway":
        leg.ended_how = "conference"  # how their part ends, unless they transfer again
        ix.emit(Conferenced(key, event.received_at, leg.channel, target))
        return key
    if leg.talk_from is not None and leg.ended_how in ("", "conference"):
        leg.ended_how, leg.transferred_to = "consult", target
    call.transfers += 1
    ix.emit(Transferred(key, event.received_at, leg.channel, target))
    return key


def _agent_of(call: Call) -> str:
    """The colleague's login, from the live consult leg the transfer went to."""
    for leg in reversed(list(call.legs.values())):
        if leg.offer is not None and leg.offer.consult and leg.ended_at is None:
            return leg.offer.agent_id
    return ""


def consult_leg_ended(ix: CallIndex, call: Call, leg: Leg, at: float) -> None:
    """A colleague's answered leg hung up while another agent has the call: the consult (or
    their part of a three-way) is over, the agent talks on with the caller. (An unanswered one
    ends as a failed offer; once the colleague has the call, their hang-up is the agent's.)"""
    offer = leg.offer
    if offer is None or not offer.consult or not call.live or leg.answered_at is None:
        return
    ix.emit(ConsultEnded(call.linkedid, at, leg.channel, leg.hangup_cause))


def next_agent(ix: CallIndex, call: Call, at: float) -> None:
    """The connected agent left while another agent's leg shares the caller's bridge (a
    three-way): that agent talks on with the caller."""
    caller = call.caller
    if caller is None or not caller.bridge_id or call.state is not CallState.TALKING:
        return
    check_talking(ix, call, caller.bridge_id, at)
