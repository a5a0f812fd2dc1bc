"""A supervisor whose phone is a ``Local/`` dial string: the Originate names both halves of the
Local pair, and the Local channel dials the real phone, which carries the pair's Linkedid. None
of these channels is ever a call, live or rebuilt after a reconnect."""

from __future__ import annotations

from callcenter.ami.messages import Action
from callcenter.calls.tracker import CallTracker
from tests.unit.test_tracker_offers import ev

SPY = "spy-7-0a1b2c3d"
PHONE_UID = "1700000200.31"
PHONE = "PJSIP/1029-0000001f"


def spy_originate(t: CallTracker) -> None:
    action = Action("Originate", (("Channel", "Local/1029@supervisors/n"), ("Application", "ChanSpy"),
                                  ("Data", "PJSIP/1001-0000000a,qE"), ("ChannelId", SPY),
                                  ("OtherChannelId", f"{SPY}-2")))
    assert t.apply_action(action, "act-9", 0.0) == []


def test_given_a_local_supervisor_phone_when_it_rings_and_hangs_up_then_no_call_is_tracked() -> None:
    t = CallTracker()
    spy_originate(t)
    out = []
    for at, name, chan, uid in ((0.1, "Newchannel", "Local/1029@supervisors-00000004;1", SPY),
                                (0.1, "Newchannel", "Local/1029@supervisors-00000004;2", f"{SPY}-2"),
                                (0.2, "Newchannel", PHONE, PHONE_UID),
                                (0.3, "Newstate", PHONE, PHONE_UID),
                                (9.0, "Hangup", PHONE, PHONE_UID)):
        out += t.apply_event(ev(at, name, Channel=chan, Uniqueid=uid, Linkedid=SPY,
                                Context="supervisors", ChannelStateDesc="Ring"))
    assert out == [] and t.calls == {} and t.spies == {SPY, f"{SPY}-2"}


def test_given_a_local_supervisor_phone_when_rebuilt_after_a_reconnect_then_it_is_no_call() -> None:
    t = CallTracker()  # a fresh server: it never saw the Originate
    phone = ev(5.0, "CoreShowChannel", Channel=PHONE, Uniqueid=PHONE_UID, Linkedid=SPY,
               ChannelStateDesc="Up", Application="AppDial", Duration="00:00:04", BridgeId="b4")
    half = ev(5.0, "CoreShowChannel", Channel="Local/1029@supervisors-00000004;2", Uniqueid=f"{SPY}-2",
              Linkedid=SPY, ChannelStateDesc="Up", Application="Dial", Duration="00:00:05", BridgeId="b4")
    assert t.rebuild([half, phone], [], now=5.0) == [] and t.calls == {}
