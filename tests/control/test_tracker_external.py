"""The tracker follows a blind transfer to an outside number: the agent's leg ends as a
transfer to the masked number, the carrier leg the caller's channel dials is the external
party (not an agent, though the caller's side dials it as it dials the hunt group), and the
call stays answered when the caller and the outside party hang up."""

from __future__ import annotations

from callcenter.calls.external import mask_number
from callcenter.calls.model import CallState, LegRole, Outcome
from callcenter.calls.tracker import CallTracker
from tests.control.test_tracker_hold import CALL, talking
from tests.control.test_tracker_transfer import AGENT_UID
from tests.unit.test_tracker_offers import ev

NUMBER = "+861055500100"
CARRIER, CARRIER_UID = "PJSIP/carrier-0000000c", "1700000100.12"


def external_transfer(t: CallTracker, chan: str, agent: str, at: float) -> None:
    t.apply_event(ev(at, "BlindTransfer", Result="Success", TransfererChannel=agent,
                     TransfererUniqueid=AGENT_UID, TransfereeChannel=chan, TransfereeUniqueid=CALL,
                     IsExternal="Yes", Context="cc-external", Extension=NUMBER))
    t.apply_event(ev(at, "BridgeLeave", Channel=chan, Uniqueid=CALL, Linkedid=CALL,
                     BridgeUniqueid="b1"))
    t.apply_event(ev(at + 0.1, "Hangup", Channel=agent, Uniqueid=AGENT_UID, Linkedid=CALL,
                     Cause="16"))
    t.apply_event(ev(at + 0.2, "Newchannel", Channel=CARRIER, Uniqueid=CARRIER_UID,
                     Linkedid=CALL, Context="from-carrier"))
    t.apply_event(ev(at + 0.2, "DialBegin", Channel=chan, Uniqueid=CALL, Linkedid=CALL,
                     DestChannel=CARRIER, DestUniqueid=CARRIER_UID, DialString=f"{NUMBER}@carrier"))


def test_mask_keeps_the_last_four_digits() -> None:
    assert mask_number(NUMBER) == "+********0100"
    assert mask_number("123") == "***"


def test_given_an_answered_call_when_the_agent_sends_it_outside_then_external_leg_and_answered() -> None:
    t = CallTracker()
    chan, agent = talking(t)
    external_transfer(t, chan, agent, 20.0)
    call = t.calls[CALL]
    first = call.legs[AGENT_UID]
    assert (first.ended_how, first.transferred_to) == ("transfer", "external:+********0100")
    assert call.transfers == 1
    outside = call.legs[CARRIER_UID]
    assert (outside.role, outside.transferred_to) == (LegRole.EXTERNAL, "external:+********0100")
    t.apply_event(ev(25.0, "Newstate", Channel=CARRIER, Uniqueid=CARRIER_UID, Linkedid=CALL,
                     ChannelStateDesc="Up"))
    t.apply_event(ev(25.0, "DialEnd", Channel=chan, Uniqueid=CALL, Linkedid=CALL,
                     DestChannel=CARRIER, DestUniqueid=CARRIER_UID, DialStatus="ANSWER"))
    for who, uid in ((chan, CALL), (CARRIER, CARRIER_UID)):
        t.apply_event(ev(25.1, "BridgeEnter", Channel=who, Uniqueid=uid, Linkedid=CALL,
                         BridgeUniqueid="b3"))
    # the outside party is not an agent: the call does not become theirs
    assert call.agent_uniqueid == AGENT_UID and call.state is not CallState.TALKING
    t.apply_event(ev(40.0, "Hangup", Channel=CARRIER, Uniqueid=CARRIER_UID, Linkedid=CALL,
                      Cause="16"))
    t.apply_event(ev(40.1, "Hangup", Channel=chan, Uniqueid=CALL, Linkedid=CALL, Cause="16"))
    assert call.outcome is Outcome.ANSWERED
    assert outside.dial_status == "ANSWER" and outside.answered_at == 25.0
    assert NUMBER not in str(call.to_record())


def test_given_a_hunt_group_dial_without_a_transfer_then_the_dialled_leg_is_an_agent() -> None:
    t = CallTracker()
    chan, _ = talking(t)
    t.apply_event(ev(20.0, "Newchannel", Channel=CARRIER, Uniqueid=CARRIER_UID, Linkedid=CALL,
                     Context="agents"))
    t.apply_event(ev(20.0, "DialBegin", Channel=chan, Uniqueid=CALL, Linkedid=CALL,
                     DestChannel=CARRIER, DestUniqueid=CARRIER_UID))
    assert t.calls[CALL].legs[CARRIER_UID].role is LegRole.AGENT


def test_given_an_outside_transfer_the_carrier_refused_when_the_caller_is_back_then_a_later_dial_is_an_agent() -> None:
    """The carrier's contact is Unreachable: the caller's Dial never begins, they hear sorry and
    come back to AGI in [cc-transfer]. The agent's leg stays her transfer to the masked number;
    a dial the caller's channel makes later (the safety net's hunt group) rings an agent, not the
    outside number."""
    t = CallTracker()
    chan, agent = talking(t)
    t.apply_event(ev(20.0, "BlindTransfer", Result="Success", TransfererChannel=agent,
                     TransfererUniqueid=AGENT_UID, TransfereeChannel=chan, TransfereeUniqueid=CALL,
                     IsExternal="Yes", Context="cc-external", Extension=NUMBER))
    t.apply_event(ev(20.1, "Hangup", Channel=agent, Uniqueid=AGENT_UID, Linkedid=CALL, Cause="16"))
    t.apply_event(ev(21.3, "AsyncAGIStart", Channel=chan, Uniqueid=CALL, Linkedid=CALL,
                     Context="cc-transfer", Exten="back"))
    call = t.calls[CALL]
    assert (call.legs[AGENT_UID].ended_how, call.legs[AGENT_UID].transferred_to) == (
        "transfer", "external:+********0100")
    assert call.transfers == 1 and call.external_to == ""
    t.apply_event(ev(30.0, "Newchannel", Channel=CARRIER, Uniqueid=CARRIER_UID, Linkedid=CALL,
                     Context="agents"))
    t.apply_event(ev(30.0, "DialBegin", Channel=chan, Uniqueid=CALL, Linkedid=CALL,
                     DestChannel=CARRIER, DestUniqueid=CARRIER_UID))
    assert call.legs[CARRIER_UID].role is LegRole.AGENT
