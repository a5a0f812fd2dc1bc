"""Offers to the same phone for different calls never merge two customers' calls."""

from __future__ import annotations

from callcenter.ami import messages
from callcenter.ami.messages import AmiEvent
from callcenter.ami.parser import Frame
from callcenter.calls.model import CallState, Outcome
from callcenter.calls.tracker import CallTracker


def ev(at: float, name: str, **fields: str) -> AmiEvent:
    headers = {"Event": name, **fields}
    raw = "\r\n".join(f"{k}: {v}" for k, v in headers.items())
    return AmiEvent(Frame(headers, raw), at)


def caller(t: CallTracker, at: float, n: int) -> str:
    uid = f"1700000000.{n}"
    chan = f"PJSIP/pstn-{n:08x}"
    t.apply_event(ev(at, "Newchannel", Channel=chan, Uniqueid=uid, Linkedid=uid, Context="inbound",
                     CallerIDNum=f"1380000000{n}", ChannelStateDesc="Ring"))
    t.apply_event(ev(at, "AsyncAGIStart", Channel=chan, Uniqueid=uid, Linkedid=uid, Context="inbound"))
    t.apply_event(ev(at, "MusicOnHoldStart", Channel=chan, Uniqueid=uid, Linkedid=uid))
    return chan


def offer(t: CallTracker, at: float, caller_chan: str, action_id: str, call_tag: str) -> None:
    t.apply_action(messages.Originate("PJSIP/1006", application="Bridge", data=f"{caller_chan},p",
                                      variables={"CC_CALL": call_tag}).action(), action_id, at)


def agent_leg(t: CallTracker, at: float, n: int, tag: str) -> str:
    uid = f"1700000100.{n}"
    chan = f"PJSIP/1006-{n:08x}"
    t.apply_event(ev(at, "Newchannel", Channel=chan, Uniqueid=uid, Linkedid=uid, Context="agents",
                     ChannelStateDesc="Down"))
    t.apply_event(ev(at, "VarSet", Channel=chan, Uniqueid=uid, Linkedid=uid, Variable="CC_CALL", Value=tag))
    return uid


def test_given_a_stale_offer_to_the_same_phone_when_it_rings_for_a_second_call_then_calls_stay_apart() -> None:
    t = CallTracker()
    a = caller(t, 0.0, 1)
    b = caller(t, 1.0, 2)
    offer(t, 2.0, a, "act-1", "1700000000.1")  # never produces a channel, no response yet
    offer(t, 3.0, b, "act-2", "1700000000.2")
    uid = agent_leg(t, 3.1, 9, "1700000000.2")
    assert t.call_key_for_uniqueid(uid) == "1700000000.2"
    assert set(t.calls) == {"1700000000.1", "1700000000.2"}
    t.apply_event(ev(8.0, "Hangup", Channel="PJSIP/1006-00000009", Uniqueid=uid, Linkedid=uid, Cause="19"))
    call_a, call_b = t.calls["1700000000.1"], t.calls["1700000000.2"]
    assert call_b.offers[-1].result == "no_answer" and call_b.state is CallState.QUEUED
    assert call_a.state is CallState.OFFERED
    t.apply_event(ev(9.0, "Hangup", Channel=a, Uniqueid="1700000000.1", Linkedid="1700000000.1", Cause="16"))
    assert call_a.outcome is Outcome.ABANDONED and call_b.live


def test_given_agent_leg_filed_under_the_wrong_call_when_its_tag_arrives_then_only_that_leg_moves() -> None:
    t = CallTracker()
    a = caller(t, 0.0, 1)
    b = caller(t, 1.0, 2)
    offer(t, 2.0, a, "act-1", "1700000000.1")
    offer(t, 2.5, b, "act-2", "1700000000.2")
    # the channel for the first offer appears last: matched to the newest offer, then the
    # CC_CALL variable corrects it without touching either customer's legs
    uid = agent_leg(t, 3.0, 7, "1700000000.1")
    assert t.call_key_for_uniqueid(uid) == "1700000000.1"
    assert t.call_key_for_uniqueid("1700000000.2") == "1700000000.2"
    assert t.calls["1700000000.2"].caller is not None


def test_a_call_the_dialplans_safety_net_connects_to_an_agent_is_answered_by_that_agent() -> None:
    """[cc-safety-net] Dial()s the hunt group: the agent's leg shares the caller's Linkedid and is
    only known as the Dial's destination. The call is answered by that agent, not abandoned."""
    t = CallTracker()
    uid, chan = "1700000000.1", "PJSIP/pstn-00000001"
    t.apply_event(ev(0.0, "Newchannel", Channel=chan, Uniqueid=uid, Linkedid=uid, Context="inbound",
                     CallerIDNum="13800000001", ChannelStateDesc="Ring"))
    t.apply_event(ev(0.1, "Newexten", Channel=chan, Uniqueid=uid, Linkedid=uid, Context="cc-safety-net",
                     Application="Dial", AppData="PJSIP/1001&PJSIP/1002,45,m(default)"))
    t.apply_event(ev(0.5, "Newstate", Channel=chan, Uniqueid=uid, Linkedid=uid, ChannelStateDesc="Up"))
    legs = {"PJSIP/1001-00000002": "1700000000.2", "PJSIP/1002-00000003": "1700000000.3"}
    for agent_chan, agent_uid in legs.items():
        t.apply_event(ev(1.0, "Newchannel", Channel=agent_chan, Uniqueid=agent_uid, Linkedid=uid,
                         Context="agents", ChannelStateDesc="Down"))
        t.apply_event(ev(1.0, "DialBegin", Channel=chan, Uniqueid=uid, Linkedid=uid,
                         DestChannel=agent_chan, DestUniqueid=agent_uid, DestLinkedid=uid,
                         DialString=agent_chan.split("-")[0].split("/")[1]))
    t.apply_event(ev(3.0, "Newstate", Channel="PJSIP/1002-00000003", Uniqueid="1700000000.3",
                     Linkedid=uid, ChannelStateDesc="Up"))
    t.apply_event(ev(3.0, "DialEnd", Channel=chan, Uniqueid=uid, Linkedid=uid,
                     DestChannel="PJSIP/1002-00000003", DestUniqueid="1700000000.3", DialStatus="ANSWER"))
    t.apply_event(ev(3.0, "Hangup", Channel="PJSIP/1001-00000002", Uniqueid="1700000000.2", Linkedid=uid,
                     Cause="26"))
    for member_chan, member_uid in ((chan, uid), ("PJSIP/1002-00000003", "1700000000.3")):
        t.apply_event(ev(3.1, "BridgeEnter", Channel=member_chan, Uniqueid=member_uid, Linkedid=uid,
                         BridgeUniqueid="b-1"))
    call = t.calls[uid]
    assert call.state is CallState.TALKING and call.answered_at == 3.0
    assert call.agent is not None and call.agent.channel == "PJSIP/1002-00000003"
    t.apply_event(ev(30.0, "HangupRequest", Channel="PJSIP/1002-00000003", Uniqueid="1700000000.3",
                     Linkedid=uid, Cause="16"))
    t.apply_event(ev(30.0, "Hangup", Channel="PJSIP/1002-00000003", Uniqueid="1700000000.3", Linkedid=uid,
                     Cause="16"))
    t.apply_event(ev(30.1, "Hangup", Channel=chan, Uniqueid=uid, Linkedid=uid, Cause="16"))
    assert call.outcome is Outcome.ANSWERED and call.hangup_by == "agent"
    assert call.to_record()["agent_channel"] == "PJSIP/1002-00000003"
