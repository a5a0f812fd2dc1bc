"""How calls and legs end: the tracker's hang-up handlers and who ended the call.

Who hung up is read from the first ``SoftHangupRequest``/``HangupRequest`` of the call (a
ringing agent's leg does not count), unless the server itself sent a ``Hangup`` to one of the
call's channels shortly before (then ``server``); a caller whose IVR ended and whose channel
the dialplan then hung up is ``system``.
"""

from __future__ import annotations

from callcenter.ami.messages import AmiEvent
from callcenter.calls.callback_end import callback_leg_ended
from callcenter.calls.consults import consult_leg_ended, next_agent
from callcenter.calls.events import AgentHungUp, CallEnded, CallerHungUp
from callcenter.calls.grouping import CallIndex
from callcenter.calls.hold import end_hold
from callcenter.calls.model import (
    Call,
    CallState,
    Direction,
    EndReason,
    HangupBy,
    Leg,
    LegRole,
    OfferResult,
    Outcome,
    Side,
)
from callcenter.calls.offer_match import failed, offer_result_for_cause

SERVER_HANGUP_WINDOW_S = 30.0


def hangup_request(ix: CallIndex, event: AmiEvent) -> str | None:
    found = ix.leg(event)
    if found is None:
        return None
    call, leg = found
    if call.first_hangup is None and call.live and not _unanswered_offer_leg(leg):
        call.first_hangup = (leg.uniqueid, event.name)
    return call.linkedid


def agent_hangup(ix: CallIndex, channel: str) -> str | None:
    """The agent ended their call from the console (the server's Hangup carries their click):
    whatever hang-up requests came before (the caller's channel leaving AsyncAGI for the bridge),
    the agent ended it."""
    call = ix.call_for_channel(channel)
    if call is None or not call.live:
        return None
    agent = call.agent
    if agent is not None and agent.channel == channel:
        call.first_hangup = (agent.uniqueid, "Hangup")
    return call.linkedid


def server_hangup(ix: CallIndex, channel: str, at: float) -> str | None:
    """The server sent ``Hangup`` for ``channel``: remembered to tell who ended the call."""
    if len(ix.server_hangups) > 1024:
        ix.server_hangups = {c: t for c, t in ix.server_hangups.items()
                             if at - t <= SERVER_HANGUP_WINDOW_S}
    ix.server_hangups[channel] = at
    return ix.call_of_channel(channel)


def hangup(ix: CallIndex, event: AmiEvent) -> str | None:
    found = ix.leg(event)
    if found is None:
        return None
    call, leg = found
    at = event.received_at
    leg.ended_at = at
    leg.hangup_cause = event.cause
    ix.by_name.pop(leg.channel, None)
    if leg.bridge_id:
        members = ix.bridges.get(leg.bridge_id)
        if members is not None:
            members.discard(leg.uniqueid)
    if call.direction is Direction.CALLBACK:
        callback_leg_ended(ix, call, leg, at)
        return call.linkedid
    offer = leg.offer
    if offer is not None and offer.open and leg.role is LegRole.AGENT:
        offer.cause = leg.hangup_cause
        failed(ix, call, offer, offer_result_for_cause(leg.hangup_cause), at)
        if call.state is CallState.OFFERED:
            call.state = CallState.QUEUED
    if leg.role is LegRole.AGENT and leg.talk_from is not None and not leg.ended_how:
        leg.ended_how = "hangup"
    if leg.uniqueid == call.agent_uniqueid:
        ix.emit(AgentHungUp(call.linkedid, at, leg.channel, leg.hangup_cause))
        next_agent(ix, call, at)
    else:
        consult_leg_ended(ix, call, leg, at)
    if leg.uniqueid == call.caller_uniqueid and call.live:
        ix.emit(CallerHungUp(call.linkedid, at, leg.channel, leg.hangup_cause))
        end_call(ix, call, leg, at)
    return call.linkedid


def end_call(ix: CallIndex, call: Call, caller: Leg, at: float) -> None:
    state_at_end = call.state
    end_hold(call, at)
    call.ended_at = at
    call.hangup_cause = caller.hangup_cause
    call.hangup_by = _who_hung_up(ix, call, caller)
    for offer in call.offers:
        if offer.open:
            offer.result, offer.ended_at = OfferResult.CANCELLED, at
    if call.answered_at is not None:
        call.outcome = Outcome.ANSWERED
    elif state_at_end is CallState.IVR:
        call.outcome = Outcome.IVR_HANGUP
    elif call.hangup_by is HangupBy.CALLER:
        call.outcome = Outcome.ABANDONED
    else:
        call.outcome = Outcome.FAILED
    call.state = CallState.ENDED
    ix.emit(CallEnded(call.linkedid, at, call.outcome, call.hangup_by, call.hangup_cause, None))


def end_call_unseen(ix: CallIndex, call: Call, now: float) -> None:
    """The call ended while the link was down: ``hangup_by`` unknown, the outcome what is known."""
    end_hold(call, now)
    for leg in call.legs.values():
        if leg.ended_at is None:
            leg.ended_at = now
            ix.by_name.pop(leg.channel, None)
    call.hangup_by = HangupBy.UNKNOWN
    call.end_reason = EndReason.LINK_DOWN
    call.ended_at = now
    call.outcome = (Outcome.ANSWERED if call.answered_at is not None
                    else Outcome.IVR_HANGUP if call.state is CallState.IVR else Outcome.FAILED)
    call.state = CallState.ENDED
    ix.emit(CallEnded(call.linkedid, now, call.outcome, call.hangup_by, None, call.end_reason))


def _who_hung_up(ix: CallIndex, call: Call, caller: Leg) -> HangupBy:
    sent = [ix.server_hangups.pop(leg.channel, None) for leg in call.legs.values()
            if leg.side is Side.CALLER or leg.uniqueid == call.agent_uniqueid]
    if any(t is not None and at_or_before(t, caller.ended_at) for t in sent):
        return HangupBy.SERVER
    first = call.legs.get(call.first_hangup[0]) if call.first_hangup else None
    if first is None:
        return HangupBy.CALLER
    if first.side is Side.AGENT:
        return HangupBy.AGENT
    if first is caller and call.first_hangup and call.first_hangup[1] == "SoftHangupRequest" \
            and first.agi_ended:
        return HangupBy.SYSTEM
    return HangupBy.CALLER


def _unanswered_offer_leg(leg: Leg) -> bool:
    return leg.side is Side.AGENT and leg.offer is not None and leg.offer.result is not OfferResult.ANSWERED


def at_or_before(sent: float, ended: float | None) -> bool:
    return ended is None or (sent <= ended + 1e-6 and ended - sent <= SERVER_HANGUP_WINDOW_S)
