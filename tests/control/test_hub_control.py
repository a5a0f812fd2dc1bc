"""The agent's screen gets the call's hold and mute back after a reload (the snapshot)."""

from __future__ import annotations

from callcenter.console.hub import ConsoleHub
from tests.console.test_hub import NoDb, Shop, summary


def test_the_snapshot_keeps_the_calls_control_state_until_the_call_is_over() -> None:
    hub = ConsoleHub(Shop(), NoDb(), summary)  # type: ignore[arg-type]
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
