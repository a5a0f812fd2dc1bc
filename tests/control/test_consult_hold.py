"""The caller's wait on music during a consult counts as hold time (one hold), read off the real
PBX's events: Asterisk's attended transfer plays music on hold to the caller from the moment
the agent's consult begins until it ends (cancelled, completed, three-way, or the caller hung up
on it). The queue's music before an agent answers is no hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.server.replay import events_and_actions, read_transcript, replay

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "pbx-captures"
FLOWS = ("cancelled", "completed", "conference", "caller_left")


def consult_music(path: Path) -> tuple[str, float]:
    """(the call's id, seconds of music between the agent's Hold and the caller's music stop)."""
    held_at = None
    started: dict[str, float] = {}
    for event, _, _, at in events_and_actions(read_transcript(path)):
        if event is None:
            continue
        if event.name == "Hold":
            held_at = at
        elif event.name == "MusicOnHoldStart" and held_at is not None:
            started[event.channel] = at
        elif event.name == "MusicOnHoldStop" and event.channel in started:
            return event.linkedid, at - started[event.channel]
    raise AssertionError(f"{path.name}: no consult music")


@pytest.mark.parametrize("flow", FLOWS)
def test_a_consult_counts_one_hold_for_the_music_the_caller_heard(flow: str) -> None:
    path = CAPTURES / f"call_control_consult_{flow}.jsonl"
    call_id, music_s = consult_music(path)
    call = replay(read_transcript(path)).calls[call_id]
    assert call.hold_count == 1 and call.held_since is None
    assert call.hold_s == pytest.approx(music_s, abs=0.002) and music_s > 0.5


def test_queue_music_is_no_hold() -> None:
    """The answered call's queue music is no hold (hold time 0)."""
    path = CAPTURES / "answered_call.jsonl"
    calls = replay(read_transcript(path)).calls.values()
    assert calls and all(c.hold_count == 0 and c.hold_s == 0.0 for c in calls)
