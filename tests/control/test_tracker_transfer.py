"""The tracker follows a blind transfer (from the console's AMI BlindTransfer or the softphone's
SIP REFER: Asterisk emits the same event): the agent's leg ends as a transfer to the extension,
the call waits again (no hold), and the next agent's bridge makes it theirs."""

from __future__ import annotations

from callcenter.ami import messages
from callcenter.calls.events import AgentHungUp, Bridged, Held, Transferred
from callcenter.calls.model import CallState
from callcenter.calls.tracker import CallTracker
from tests.control.test_tracker_hold import CALL, talking
from tests.unit.test_tracker_offers import ev

AGENT_UID = "1700000100.9"


def blind_transfer(t: CallTracker, chan: str, agent: str, at: float) -> list[object]:
    out = list(t.apply_event(ev(at, "BlindTransfer", Result="Success", TransfererChannel=agent,
                                TransfererUniqueid=AGENT_UID, TransfereeChannel=chan,
                                TransfereeUniqueid=CALL, IsExternal="No", Context="cc-transfer",
                                Extension="refunds")))
    out += t.apply_event(ev(at, "BridgeLeave", Channel=chan, Uniqueid=CALL, Linkedid=CALL,
                            BridgeUniqueid="b1"))
    out += t.apply_event(ev(at + 0.1, "Hangup", Channel=agent, Uniqueid=AGENT_UID, Linkedid=CALL,
                            Cause="16"))
    return out


def test_a_blind_transfer_ends_the_agents_leg_and_the_next_agent_takes_the_call() -> None:
    t = CallTracker()
    chan, agent = talking(t)
    events = blind_transfer(t, chan, agent, 20.0)
    assert [type(e) for e in events if isinstance(e, Transferred | AgentHungUp)] == [
        Transferred, AgentHungUp]
    call = t.calls[CALL]
    first = call.legs[AGENT_UID]
    assert (first.talk_from, first.ended_how, first.transferred_to) == (2.0, "transfer", "refunds")
    assert call.transfers == 1 and call.state is CallState.QUEUED
    # back in AGI with hold music while it waits: queued, not on hold
    t.apply_event(ev(20.5, "AsyncAGIStart", Channel=chan, Uniqueid=CALL, Linkedid=CALL,
                     Context="cc-transfer"))
    held = t.apply_event(ev(21.0, "MusicOnHoldStart", Channel=chan, Uniqueid=CALL, Linkedid=CALL))
    assert not any(isinstance(e, Held) for e in held) and call.state is CallState.QUEUED
    # the next offer is answered and bridged
    t.apply_action(messages.Originate("PJSIP/1007", application="Bridge", data=f"{chan},p",
                                      variables={"CC_CALL": CALL, "CC_AGENT": "ivan"}).action(),
                   "a9", 25.0)
    second, uid = "PJSIP/1007-0000000b", "1700000100.11"
    t.apply_event(ev(25.1, "Newchannel", Channel=second, Uniqueid=uid, Linkedid=uid, Context="agents"))
    t.apply_event(ev(25.1, "VarSet", Channel=second, Uniqueid=uid, Linkedid=uid, Variable="CC_CALL",
                     Value=CALL))
    bridged = []
    for who, u in ((chan, CALL), (second, uid)):
        bridged += t.apply_event(ev(30.0, "BridgeEnter", Channel=who, Uniqueid=u, Linkedid=CALL,
                                    BridgeUniqueid="b2"))
    assert any(isinstance(e, Bridged) and e.agent_channel == second for e in bridged)
    assert call.state is CallState.TALKING and call.agent_uniqueid == uid
    assert call.legs[uid].talk_from == 30.0 and call.legs[uid].offer is not None
    assert call.legs[uid].offer.agent_id == "ivan"
    t.apply_event(ev(40.0, "Hangup", Channel=second, Uniqueid=uid, Linkedid=CALL, Cause="16"))
    assert call.legs[uid].ended_how == "hangup"
    assert call.to_record()["transfers"] == 1
