"""The tracker follows a consult as Asterisk 22 reported it on the real PBX (the server's Atxfer
of the agent's channel, then the features codes): the colleague's phone rings as the consult's
agent leg, the transfer's Local channels are no legs; cancelled, the colleague's leg ends and the
caller is back with the agent; completed, the agent's leg ends as a consult to the colleague,
who talks on with the caller (after Asterisk optimises the Local channels away); a three-way
has both agents talking to the caller, and when the first leaves the colleague talks on."""

from __future__ import annotations

from callcenter.ami.messages import Action
from callcenter.calls.consults import CONSULT_AGENT_HEADER, CONSULT_DIAL_HEADER
from callcenter.calls.events import (
    AgentAnswered,
    AgentHungUp,
    AgentLegCreated,
    Bridged,
    CallEnded,
    Conferenced,
    ConsultEnded,
    Held,
    Transferred,
)
from callcenter.calls.model import CallState
from callcenter.calls.tracker import CallTracker
from tests.control.test_tracker_hold import CALL, talking
from tests.unit.test_tracker_offers import ev

A_UID = "1700000100.9"
B, B_UID = "PJSIP/1062-00000002", "1700000100.12"
L1, L2 = "Local/12345678@cc-consult-00000000;1", "Local/12345678@cc-consult-00000000;2"
L1_UID, L2_UID = "1700000100.10", "1700000100.11"


def consulting(t: CallTracker) -> tuple[str, str, list[object]]:
    """The call is talking (agent in bridge b1); the agent consults ivan at 10.0."""
    chan, agent = talking(t)
    out: list[object] = list(t.apply_action(Action("Atxfer", (
        ("Channel", agent), ("Exten", "12345678"), ("Context", "cc-consult"),
        (CONSULT_AGENT_HEADER, "ivan"), (CONSULT_DIAL_HEADER, "PJSIP/1062"))), "x1", 10.0))
    for e in (ev(10.2, "MusicOnHoldStart", Channel=chan, Uniqueid=CALL, Linkedid=CALL, Class="default"),
              ev(10.6, "Newchannel", Channel=L1, Uniqueid=L1_UID, Linkedid=CALL, Context="cc-consult",
                 Exten="12345678", ChannelStateDesc="Down"),
              ev(10.6, "Newchannel", Channel=L2, Uniqueid=L2_UID, Linkedid=CALL, Context="cc-consult",
                 Exten="12345678", ChannelStateDesc="Ring"),
              ev(10.6, "BridgeEnter", Channel=L1, Uniqueid=L1_UID, Linkedid=CALL, BridgeUniqueid="b2"),
              ev(10.6, "BridgeLeave", Channel=agent, Uniqueid=A_UID, Linkedid=CALL, BridgeUniqueid="b1"),
              ev(10.6, "BridgeEnter", Channel=agent, Uniqueid=A_UID, Linkedid=CALL, BridgeUniqueid="b2"),
              ev(10.6, "Newchannel", Channel=B, Uniqueid=B_UID, Linkedid=CALL, Context="agents",
                 ChannelStateDesc="Down"),
              ev(10.6, "DialBegin", Channel=L2, Uniqueid=L2_UID, Linkedid=CALL, DestChannel=B,
                 DestUniqueid=B_UID),
              ev(12.0, "Newstate", Channel=B, Uniqueid=B_UID, Linkedid=CALL, ChannelStateDesc="Up"),
              ev(12.0, "DialEnd", Channel=L2, Uniqueid=L2_UID, Linkedid=CALL, DestChannel=B,
                 DestUniqueid=B_UID, DialStatus="ANSWER"),
              ev(12.0, "BridgeEnter", Channel=B, Uniqueid=B_UID, Linkedid=CALL, BridgeUniqueid="b3"),
              ev(12.0, "BridgeEnter", Channel=L2, Uniqueid=L2_UID, Linkedid=CALL, BridgeUniqueid="b3")):
        out += t.apply_event(e)
    return chan, agent, out


def test_the_colleagues_phone_is_the_consults_agent_leg_and_the_local_channels_are_no_legs() -> None:
    t = CallTracker()
    _, _, out = consulting(t)
    call = t.calls[CALL]
    assert [type(e) for e in out if isinstance(e, Held | AgentLegCreated | AgentAnswered)] == [
        Held, AgentLegCreated, AgentAnswered]
    assert L1_UID not in call.legs and L2_UID not in call.legs and L1_UID not in t.calls
    leg = call.legs[B_UID]
    assert leg.offer is not None and leg.offer.consult and leg.offer.agent_id == "ivan"
    assert leg.talk_from is None, "talking to the agent is not talking to the caller"
    assert call.agent_uniqueid == A_UID and call.state is CallState.TALKING
    assert call.offers == [o for o in call.offers if not o.consult], "a consult is no routing offer"


def test_given_a_consult_when_cancelled_then_the_colleagues_leg_ends_and_the_agent_keeps_the_call() -> None:
    t = CallTracker()
    chan, agent, _ = consulting(t)
    out = []
    for e in (ev(18.0, "BridgeLeave", Channel=agent, Uniqueid=A_UID, Linkedid=CALL, BridgeUniqueid="b2"),
              ev(18.0, "BridgeEnter", Channel=agent, Uniqueid=A_UID, Linkedid=CALL, BridgeUniqueid="b1"),
              ev(18.0, "MusicOnHoldStop", Channel=chan, Uniqueid=CALL, Linkedid=CALL),
              ev(18.0, "Hangup", Channel=L2, Uniqueid=L2_UID, Linkedid=CALL, Cause="16"),
              ev(18.0, "BridgeLeave", Channel=B, Uniqueid=B_UID, Linkedid=CALL, BridgeUniqueid="b3"),
              ev(18.0, "Hangup", Channel=L1, Uniqueid=L1_UID, Linkedid=CALL, Cause="16"),
              ev(18.1, "Hangup", Channel=B, Uniqueid=B_UID, Linkedid=CALL, Cause="16")):
        out += t.apply_event(e)
    assert [type(e) for e in out if type(e).__name__ != "CallUpdated"] == [ConsultEnded]
    call = t.calls[CALL]
    assert call.agent_uniqueid == A_UID and call.live and call.transfers == 0
    assert call.legs[A_UID].ended_how == "" and call.legs[B_UID].talk_from is None


def complete(t: CallTracker, chan: str, agent: str) -> list[object]:
    out: list[object] = []
    for e in (ev(20.0, "BridgeLeave", Channel=L1, Uniqueid=L1_UID, Linkedid=CALL, BridgeUniqueid="b2"),
              ev(20.0, "BridgeEnter", Channel=L1, Uniqueid=L1_UID, Linkedid=CALL, BridgeUniqueid="b1"),
              ev(20.0, "BridgeLeave", Channel=agent, Uniqueid=A_UID, Linkedid=CALL, BridgeUniqueid="b2"),
              ev(20.0, "MusicOnHoldStop", Channel=chan, Uniqueid=CALL, Linkedid=CALL),
              ev(20.0, "AttendedTransfer", Result="Success", OrigTransfererChannel=agent,
                 OrigTransfererUniqueid=A_UID, SecondTransfererChannel=agent,
                 SecondTransfererUniqueid=A_UID, TransfereeChannel=chan, TransfereeUniqueid=CALL,
                 TransferTargetChannel=L1, TransferTargetUniqueid=L1_UID, IsExternal="No",
                 DestType="Bridge", DestBridgeUniqueid="b1"),
              ev(20.0, "Hangup", Channel=agent, Uniqueid=A_UID, Linkedid=CALL, Cause="16"),
              ev(20.4, "BridgeLeave", Channel=B, Uniqueid=B_UID, Linkedid=CALL, BridgeUniqueid="b3"),
              ev(20.4, "BridgeLeave", Channel=L1, Uniqueid=L1_UID, Linkedid=CALL, BridgeUniqueid="b1"),
              ev(20.4, "BridgeEnter", Channel=B, Uniqueid=B_UID, Linkedid=CALL, BridgeUniqueid="b1"),
              ev(20.4, "Hangup", Channel=L2, Uniqueid=L2_UID, Linkedid=CALL, Cause="16"),
              ev(20.4, "Hangup", Channel=L1, Uniqueid=L1_UID, Linkedid=CALL, Cause="16")):
        out += t.apply_event(e)
    return out


def test_given_a_consult_when_completed_then_legs_are_the_agent_then_the_colleague_who_owns_the_call(
        ) -> None:
    t = CallTracker()
    chan, agent, _ = consulting(t)
    out = complete(t, chan, agent)
    assert [type(e) for e in out if isinstance(e, Transferred | AgentHungUp | Bridged)] == [
        Transferred, AgentHungUp, Bridged]
    call = t.calls[CALL]
    first, second = call.legs[A_UID], call.legs[B_UID]
    assert (first.ended_how, first.transferred_to, first.ended_at) == ("consult", "ivan", 20.0)
    assert second.talk_from == 20.4 and call.agent_uniqueid == B_UID
    assert call.state is CallState.TALKING and call.transfers == 1
    bridged = next(e for e in out if isinstance(e, Bridged))
    assert bridged.agent_channel == B and not bridged.first
    ended = t.apply_event(ev(40.0, "Hangup", Channel=B, Uniqueid=B_UID, Linkedid=CALL, Cause="16"))
    assert any(isinstance(e, AgentHungUp) for e in ended) and second.ended_how == "hangup"


def test_given_a_consult_when_the_caller_hangs_up_then_the_call_ends_answered() -> None:
    t = CallTracker()
    chan, _, _ = consulting(t)
    out = t.apply_event(ev(15.0, "Hangup", Channel=chan, Uniqueid=CALL, Linkedid=CALL, Cause="16"))
    ended = next(e for e in out if isinstance(e, CallEnded))
    assert ended.outcome.value == "answered" and ended.hangup_by is not None
    assert ended.hangup_by.value == "caller"


def test_given_a_three_way_when_the_agent_leaves_then_the_colleague_talks_on_and_both_legs_overlap(
        ) -> None:
    t = CallTracker()
    chan, agent, _ = consulting(t)
    out: list[object] = []
    for e in (ev(20.0, "BridgeLeave", Channel=L1, Uniqueid=L1_UID, Linkedid=CALL, BridgeUniqueid="b2"),
              ev(20.0, "MusicOnHoldStop", Channel=chan, Uniqueid=CALL, Linkedid=CALL),
              ev(20.0, "BridgeEnter", Channel=L1, Uniqueid=L1_UID, Linkedid=CALL, BridgeUniqueid="b1"),
              ev(20.0, "BridgeLeave", Channel=agent, Uniqueid=A_UID, Linkedid=CALL, BridgeUniqueid="b2"),
              ev(20.0, "BridgeEnter", Channel=agent, Uniqueid=A_UID, Linkedid=CALL, BridgeUniqueid="b1"),
              ev(20.0, "AttendedTransfer", Result="Success", OrigTransfererChannel=agent,
                 OrigTransfererUniqueid=A_UID, TransfereeChannel=chan, TransfereeUniqueid=CALL,
                 TransferTargetChannel=L1, TransferTargetUniqueid=L1_UID, IsExternal="No",
                 DestType="Threeway"),
              ev(20.5, "BridgeLeave", Channel=B, Uniqueid=B_UID, Linkedid=CALL, BridgeUniqueid="b3"),
              ev(20.5, "BridgeLeave", Channel=L1, Uniqueid=L1_UID, Linkedid=CALL, BridgeUniqueid="b1"),
              ev(20.5, "BridgeEnter", Channel=B, Uniqueid=B_UID, Linkedid=CALL, BridgeUniqueid="b1"),
              ev(20.5, "Hangup", Channel=L1, Uniqueid=L1_UID, Linkedid=CALL, Cause="16"),
              ev(20.5, "Hangup", Channel=L2, Uniqueid=L2_UID, Linkedid=CALL, Cause="16")):
        out += t.apply_event(e)
    call = t.calls[CALL]
    assert [type(e) for e in out if isinstance(e, Conferenced | Bridged | Transferred)] == [Conferenced]
    assert call.agent_uniqueid == A_UID and call.legs[B_UID].talk_from == 20.5
    left = t.apply_event(ev(25.0, "Hangup", Channel=agent, Uniqueid=A_UID, Linkedid=CALL, Cause="16"))
    assert [type(e) for e in left if isinstance(e, AgentHungUp | Bridged)] == [AgentHungUp, Bridged]
    assert call.agent_uniqueid == B_UID and call.live and call.state is CallState.TALKING
    assert call.legs[A_UID].ended_how == "conference" and call.transfers == 0



def test_given_a_three_way_when_the_colleague_leaves_then_the_agent_talks_on_alone() -> None:
    t = CallTracker()
    chan, agent, _ = consulting(t)
    for e in (ev(20.0, "BridgeLeave", Channel=agent, Uniqueid=A_UID, Linkedid=CALL, BridgeUniqueid="b2"),
              ev(20.0, "BridgeEnter", Channel=agent, Uniqueid=A_UID, Linkedid=CALL, BridgeUniqueid="b1"),
              ev(20.0, "AttendedTransfer", Result="Success", OrigTransfererChannel=agent,
                 OrigTransfererUniqueid=A_UID, TransfereeChannel=chan, TransferTargetChannel=L1,
                 DestType="Threeway"),
              ev(20.5, "BridgeLeave", Channel=B, Uniqueid=B_UID, Linkedid=CALL, BridgeUniqueid="b3"),
              ev(20.5, "BridgeEnter", Channel=B, Uniqueid=B_UID, Linkedid=CALL, BridgeUniqueid="b1")):
        t.apply_event(e)
    out = t.apply_event(ev(30.0, "Hangup", Channel=B, Uniqueid=B_UID, Linkedid=CALL, Cause="16"))
    assert [type(e) for e in out if isinstance(e, ConsultEnded | AgentHungUp)] == [ConsultEnded]
    call = t.calls[CALL]
    assert call.agent_uniqueid == A_UID and call.live and call.legs[B_UID].ended_how == "hangup"
