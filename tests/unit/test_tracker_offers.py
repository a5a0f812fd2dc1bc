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
