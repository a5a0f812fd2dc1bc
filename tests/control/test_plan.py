"""The control planner as a table: call state + action → AMI actions + new state, or a refusal."""

from __future__ import annotations

import pytest

from callcenter.ami.messages import Action, Originate
from callcenter.control.plan import CallView, Control, Refused, Verb, plan

TALKING = CallView("1700000000.1", live=True, talking=True, caller_channel="PJSIP/pstn-01",
                   agent_channel="PJSIP/1001-02")


def names(actions: tuple[Action | Originate, ...]) -> list[tuple[str, str]]:
    out = []
    for action in actions:
        a = action.action() if isinstance(action, Originate) else action
        out.append((a.name, a.header("Channel")))
    return out


@pytest.mark.parametrize(("state", "verb", "expected", "after"), [
    (Control(), Verb.HANGUP, [("Hangup", "PJSIP/1001-02")], Control(ended=True)),
    (Control(), Verb.HOLD, [("MuteAudio", "PJSIP/1001-02"), ("Originate", "Local/77@cc-hold-music/n")],
     Control(held=True, hold_token="77")),
    (Control(held=True, hold_token="77"), Verb.RESUME,
     [("Hangup", "/^Local/77@cc\\-hold\\-music\\-/"), ("MuteAudio", "PJSIP/1001-02")], Control()),
    (Control(held=True, hold_token="77", muted=True), Verb.RESUME,
     [("Hangup", "/^Local/77@cc\\-hold\\-music\\-/"), ("MuteAudio", "PJSIP/1001-02"),
      ("MuteAudio", "PJSIP/1001-02")], Control(muted=True)),
    (Control(), Verb.MUTE, [("MuteAudio", "PJSIP/1001-02")], Control(muted=True)),
    (Control(muted=True), Verb.UNMUTE, [("MuteAudio", "PJSIP/1001-02")], Control()),
    (Control(held=True, hold_token="77"), Verb.MUTE, [], Control(held=True, hold_token="77", muted=True)),
    (Control(held=True, hold_token="77"), Verb.HANGUP,
     [("Hangup", "PJSIP/1001-02"), ("Hangup", "/^Local/77@cc\\-hold\\-music\\-/")],
     Control(hold_token="77", ended=True)),
    (Control(), Verb.TRANSFER, [("BlindTransfer", "PJSIP/1001-02")], Control(ended=True)),
    (Control(held=True, hold_token="77", muted=True), Verb.TRANSFER,
     [("Hangup", "/^Local/77@cc\\-hold\\-music\\-/"), ("BlindTransfer", "PJSIP/1001-02")],
     Control(hold_token="77", muted=True, ended=True)),
])
def test_given_a_talking_call_when_the_agent_acts_then_these_actions_go_out(
        state: Control, verb: Verb, expected: list[tuple[str, str]], after: Control) -> None:
    decided = plan(TALKING, state, verb, token="77", target="refunds")
    assert names(decided.actions) == expected
    assert decided.state == after


def test_hold_mutes_the_agent_both_ways_and_whispers_music_to_the_caller() -> None:
    decided = plan(TALKING, Control(), Verb.HOLD, token="05")
    mute, music = decided.actions
    assert isinstance(mute, Action) and isinstance(music, Originate), decided.actions
    assert mute.header("Direction") == "all" and mute.header("State") == "on"
    originate = music.action()
    assert originate.header("Application") == "ChanSpy"
    assert originate.header("Data") == "PJSIP/pstn-01,qwES"


def test_the_agents_hangup_is_marked_as_theirs() -> None:
    hangup = plan(TALKING, Control(), Verb.HANGUP).actions[0]
    assert isinstance(hangup, Action), hangup
    assert hangup.header("CC-Party") == "agent"


@pytest.mark.parametrize(("call", "state", "verb", "status", "error_id"), [
    (CallView("c", False, False, "x", ""), Control(), Verb.HOLD, 409, "call_ended"),
    (TALKING, Control(ended=True), Verb.HANGUP, 409, "call_ended"),
    (CallView("c", True, False, "x", ""), Control(), Verb.MUTE, 409, "not_talking"),
    (TALKING, Control(held=True, hold_token="1"), Verb.HOLD, 409, "already_held"),
    (TALKING, Control(), Verb.RESUME, 409, "not_held"),
    (TALKING, Control(muted=True), Verb.MUTE, 409, "already_muted"),
    (TALKING, Control(), Verb.UNMUTE, 409, "not_muted"),
])
def test_given_an_action_that_does_not_fit_then_it_is_refused_with_an_error_id(
        call: CallView, state: Control, verb: Verb, status: int, error_id: str) -> None:
    with pytest.raises(Refused) as refused:
        plan(call, state, verb, token="1")
    assert (refused.value.status, refused.value.error_id) == (status, error_id)


def test_a_hold_token_the_dialplan_would_not_match_is_a_bug() -> None:
    with pytest.raises(ValueError):
        plan(TALKING, Control(), Verb.HOLD, token="7")  # _X. needs two characters
