"""Hold time from Asterisk's events: the hold music's ChanSpy on the caller starts and ends it."""

from __future__ import annotations

from callcenter.ami import messages
from callcenter.ami.messages import AmiEvent
from callcenter.calls.events import Held, Resumed
from callcenter.calls.model import HangupBy
from callcenter.calls.tracker import CallTracker
from tests.unit.test_tracker_offers import caller, ev

CALL = "1700000000.1"
SPY = "Local/123@cc-hold-music-00000000;1"


def talking(t: CallTracker) -> tuple[str, str]:
    chan = caller(t, 0.0, 1)
    t.apply_action(messages.Originate("PJSIP/1006", application="Bridge", data=f"{chan},p",
                                      variables={"CC_CALL": CALL}).action(), "a1", 1.0)
    agent, uid = "PJSIP/1006-00000009", "1700000100.9"
    t.apply_event(ev(1.1, "Newchannel", Channel=agent, Uniqueid=uid, Linkedid=uid, Context="agents"))
    t.apply_event(ev(1.1, "VarSet", Channel=agent, Uniqueid=uid, Linkedid=uid, Variable="CC_CALL", Value=CALL))
    for who, u in ((chan, CALL), (agent, uid)):
        t.apply_event(ev(2.0, "BridgeEnter", Channel=who, Uniqueid=u, Linkedid=CALL, BridgeUniqueid="b1"))
    return chan, agent


def spy(t: CallTracker, at: float, name: str, chan: str) -> list[object]:
    t.apply_event(ev(at, "Newchannel", Channel=SPY, Uniqueid="1700000200.1", Linkedid="1700000200.1",
                     Context="cc-hold-music"))
    return list(t.apply_event(ev(at, name, SpyerChannel=SPY, SpyeeChannel=chan, SpyeeUniqueid=CALL)))


def test_given_a_talking_call_when_the_music_spies_on_the_caller_then_held_and_resumed_with_time() -> None:
    t = CallTracker()
    chan, _ = talking(t)
    assert any(isinstance(e, Held) for e in spy(t, 10.0, "ChanSpyStart", chan))
    assert "1700000200.1" not in t.calls, "the hold music's channel became a call"
    assert t.calls[CALL].hold_total(14.0) == 4.0
    resumed = [e for e in spy(t, 16.5, "ChanSpyStop", chan) if isinstance(e, Resumed)]
    assert resumed and resumed[0].hold_s == 6.5
    spy(t, 20.0, "ChanSpyStart", chan)
    t.apply_event(ev(23.0, "Hangup", Channel=chan, Uniqueid=CALL, Linkedid=CALL, Cause="16"))
    call = t.calls[CALL]
    assert (call.hold_s, call.hold_count, call.held_since) == (9.5, 2, None)
    assert call.to_record()["hold_s"] == 9.5


def test_given_the_agent_hangs_up_from_the_console_then_the_call_was_ended_by_the_agent() -> None:
    t = CallTracker()
    chan, agent = talking(t)
    hangup = messages.Action("Hangup", (("Channel", agent), ("Cause", "16"), ("CC-Party", "agent")))
    # the caller's channel asked to leave AsyncAGI for the bridge long before
    t.apply_event(ev(2.0, "SoftHangupRequest", Channel=chan, Uniqueid=CALL, Linkedid=CALL, Cause="0"))
    t.apply_action(hangup, "a2", 30.0)
    t.apply_event(ev(30.1, "HangupRequest", Channel=agent, Uniqueid="1700000100.9", Linkedid=CALL, Cause="16"))
    t.apply_event(ev(30.1, "Hangup", Channel=agent, Uniqueid="1700000100.9", Linkedid=CALL, Cause="16"))
    t.apply_event(ev(31.0, "Hangup", Channel=chan, Uniqueid=CALL, Linkedid=CALL, Cause="16"))
    assert t.calls[CALL].hangup_by is HangupBy.AGENT


def test_given_a_caller_on_hold_when_the_calls_are_rebuilt_then_the_hold_is_found_again() -> None:
    fresh = CallTracker()
    caller_item = ev(100.0, "CoreShowChannel", Channel="PJSIP/pstn-00000001", Uniqueid=CALL,
                     Linkedid=CALL, ChannelStateDesc="Up", Application="", BridgeId="b9",
                     Duration="00:01:00")
    agent_item = ev(100.0, "CoreShowChannel", Channel="PJSIP/1006-00000009", Uniqueid="1700000100.9",
                    Linkedid=CALL, ChannelStateDesc="Up", Application="Bridge",
                    ApplicationData="PJSIP/pstn-00000001,p", BridgeId="b9", Duration="00:00:50")
    spy_item = ev(100.0, "CoreShowChannel", Channel=SPY, Uniqueid="1700000200.1",
                  Linkedid="1700000200.1", Context="cc-hold-music", ChannelStateDesc="Up",
                  Application="ChanSpy", ApplicationData="PJSIP/pstn-00000001,qwES", Duration="00:00:12")
    fresh.rebuild([caller_item, agent_item, spy_item], [], now=100.0)
    assert set(fresh.calls) == {CALL}, "the hold music's channel became a call"
    call = fresh.calls[CALL]
    assert (call.held_since, call.hold_channel, call.hold_count) == (88.0, SPY, 1)


def listed(chan: str, agent: str, music: bool) -> list[AmiEvent]:
    items = [ev(30.0, "CoreShowChannel", Channel=chan, Uniqueid=CALL, Linkedid=CALL, ChannelStateDesc="Up",
                Application="AGI", BridgeId="b1", Duration="00:00:30"),
             ev(30.0, "CoreShowChannel", Channel=agent, Uniqueid="1700000100.9", Linkedid=CALL,
                ChannelStateDesc="Up", Application="Bridge", ApplicationData=f"{chan},p", BridgeId="b1",
                Duration="00:00:29")]
    if music:
        items.append(ev(30.0, "CoreShowChannel", Channel=SPY, Uniqueid="1700000200.1", Linkedid="1700000200.1",
                        Context="cc-hold-music", ChannelStateDesc="Up", Application="ChanSpy",
                        ApplicationData=f"{chan},qwES", Duration="00:00:20"))
    return items


def test_given_a_hold_when_its_music_ended_while_the_link_was_down_then_the_rebuild_says_it_was_lost() -> None:
    t = CallTracker()
    chan, agent = talking(t)
    spy(t, 10.0, "ChanSpyStart", chan)
    out = t.rebuild(listed(chan, agent, music=False), [], now=30.0, asked_at=29.0)
    [resumed] = [e for e in out if isinstance(e, Resumed)]
    assert resumed.music_lost and resumed.hold_s == 20.0 and resumed.channel == chan
    call = t.calls[CALL]
    assert call.live and call.held_since is None and call.hold_channel == "" and call.hold_s == 20.0


def test_given_a_hold_when_its_music_still_plays_after_the_link_came_back_then_it_stays_held() -> None:
    t = CallTracker()
    chan, agent = talking(t)
    spy(t, 10.0, "ChanSpyStart", chan)
    out = t.rebuild(listed(chan, agent, music=True), [], now=30.0, asked_at=29.0)
    assert not [e for e in out if isinstance(e, Resumed)]
    assert t.calls[CALL].held_since == 10.0
