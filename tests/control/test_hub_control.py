"""The agent's screen gets the call's hold and mute back after a reload (the snapshot)."""

from __future__ import annotations

import asyncio

from callcenter.console.hub import ConsoleHub
from tests.console.test_hub import NoDb, Shop, summary


def test_the_snapshot_keeps_the_calls_control_state_until_the_call_is_over() -> None:
    hub = ConsoleHub(Shop(), NoDb(), summary)
    hub.publish("sam", {"type": "answered", "call_id": "1700.1"})
    assert hub.snapshot("sam")["control"] is None
    held = {"type": "control", "call_id": "1700.1", "held": True, "muted": False,
            "held_since": 5.0, "hold_s": 0.0, "ended": False}
    hub.publish("sam", held)
    assert hub.snapshot("sam")["control"]["held"] is True
    hub.publish("sam", {**held, "held": False, "hold_s": 4.0})
    assert hub.snapshot("sam")["control"]["hold_s"] == 4.0
    hub.publish("sam", {"type": "call_ended", "call_id": "1700.1", "outcome": "answered"})
    assert hub.snapshot("sam")["control"] is None
    assert hub.snapshot("kim")["control"] is None


async def test_a_transfer_ends_the_first_agents_part_and_the_next_agents_answer_makes_it_theirs() -> None:
    from callcenter.calls.events import Bridged, Transferred
    from tests.console.test_hub import RecordingDb

    phones = {"PJSIP/1001-": "sam", "PJSIP/1002-": "kim"}
    hub = ConsoleHub(Shop(), RecordingDb(), summary,
                     agent_for_channel=lambda ch: next((a for p, a in phones.items()
                                                        if ch.startswith(p)), None))
    hub.on_call_event(Bridged("1700.9", 3.0, "PJSIP/1001-0a", "1700.10", "", True, 3.0))
    assert hub.agent_on_call("1700.9") == "sam"
    hub.on_call_event(Transferred("1700.9", 9.0, "PJSIP/1002-0c", "s"))  # not sam's channel
    assert hub.agent_on_call("1700.9") == "sam"
    hub.on_call_event(Transferred("1700.9", 9.0, "PJSIP/1001-0a", "s"))
    assert hub.agent_on_call("1700.9") is None
    ended = hub.since("sam", 0) or []
    assert {k: ended[-1][k] for k in ("type", "call_id", "outcome")} == {
        "type": "call_ended", "call_id": "1700.9", "outcome": "transferred"}
    hub.on_call_event(Bridged("1700.9", 20.0, "PJSIP/1002-0d", "1700.12", "", False, 3.0))
    assert hub.agent_on_call("1700.9") == "kim"
    await asyncio.sleep(0.05)  # the call row's attribution task
