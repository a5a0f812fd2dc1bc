"""Call events no capture shows: hold, transfer, routing's queue time, the rebuild after a
reconnect, and an offer answered with its ringing never seen."""

from __future__ import annotations

from callcenter.calls.events import CallEvent, CallUpdated
from callcenter.calls.tracker import CallTracker
from tests.unit.test_tracker_events import describe
from tests.unit.test_tracker_offers import agent_leg, caller, ev, offer

CALL = "1700000000.1"


def told(events: list[CallEvent]) -> list[str]:
    return [describe(e) for e in events if not isinstance(e, CallUpdated)]


def talking(t: CallTracker) -> tuple[str, str]:
    chan = caller(t, 0.0, 1)
    offer(t, 1.0, chan, "act-1", CALL)
    uid = agent_leg(t, 1.1, 9, CALL)
    agent = "PJSIP/1006-00000009"
    for name, at, who, ch in (("BridgeEnter", 2.0, CALL, chan), ("BridgeEnter", 2.0, uid, agent)):
        t.apply_event(ev(at, name, Channel=ch, Uniqueid=who, Linkedid=CALL, BridgeUniqueid="b1"))
    return chan, agent


def test_an_offer_answered_before_its_ringing_was_seen_is_reported_rung_then_answered() -> None:
    t = CallTracker()
    chan = caller(t, 0.0, 1)
    offer(t, 1.0, chan, "act-1", CALL)
    uid = agent_leg(t, 1.1, 9, CALL)
    up = t.apply_event(ev(2.0, "Newstate", Channel="PJSIP/1006-00000009", Uniqueid=uid, Linkedid=uid,
                          ChannelStateDesc="Up"))
    assert told(up) == [f"AgentRinging {CALL} act-1 PJSIP/1006-00000009",
                        f"AgentAnswered {CALL} act-1 PJSIP/1006-00000009"]


def test_routing_taking_the_call_stamps_its_queue_time_once() -> None:
    t = CallTracker()
    caller(t, 0.0, 1)  # its hold music already set queued_at
    assert told(t.apply_queued(CALL, 5.0)) == []
    assert t.calls[CALL].queued_at == 0.0
    fresh = CallTracker()
    chan = "PJSIP/pstn-00000002"
    fresh.apply_event(ev(0.0, "Newchannel", Channel=chan, Uniqueid="1700000000.2",
                         Linkedid="1700000000.2", ChannelStateDesc="Ring"))
    assert told(fresh.apply_queued("1700000000.2", 3.0)) == ["Queued 1700000000.2"]
    assert told(fresh.apply_queued("1700000000.2", 4.0)) == []


def test_hold_music_while_talking_is_a_hold_and_a_blind_transfer_is_reported() -> None:
    t = CallTracker()
    chan, agent = talking(t)
    held = t.apply_event(ev(3.0, "MusicOnHoldStart", Channel=chan, Uniqueid=CALL, Linkedid=CALL))
    assert told(held) == [f"Held {CALL} {chan}"]
    moved = t.apply_event(ev(4.0, "BlindTransfer", TransfererChannel=agent,
                             TransfererUniqueid="1700000100.9", Extension="2002", Result="Success"))
    assert told(moved) == [f"Transferred {CALL} {agent} 2002"]


def test_a_rebuild_ends_the_calls_asterisk_lost_and_reports_the_ones_it_found_talking() -> None:
    t = CallTracker()
    talking(t)
    assert told(t.rebuild([], [], now=10.0)) == [f"CallEnded {CALL} answered unknown link_down"]
    fresh = CallTracker()
    caller_item = ev(20.0, "CoreShowChannel", Channel="PJSIP/pstn-00000003", Uniqueid="1700000000.3",
                     Linkedid="1700000000.3", ChannelStateDesc="Up", Application="AppDial",
                     BridgeId="b9", Duration="00:00:05")
    agent_item = ev(20.0, "CoreShowChannel", Channel="PJSIP/1006-0000000c", Uniqueid="1700000100.12",
                    Linkedid="1700000000.3", ChannelStateDesc="Up", Application="Bridge",
                    ApplicationData="PJSIP/pstn-00000003,p", BridgeId="b9", Duration="00:00:04")
    found = told(fresh.rebuild([caller_item, agent_item], [], now=20.0))
    assert found == ["CallArrived 1700000000.3 PJSIP/pstn-00000003",
                     "Bridged 1700000000.3 PJSIP/1006-0000000c first"]
