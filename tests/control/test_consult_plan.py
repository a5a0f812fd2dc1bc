"""The consult planner as a table: the call, its control state and the consult under way →
the AMI actions (Atxfer, then the features codes as DTMF from the agent's channel), or a
refusal."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from callcenter.ami.messages import Action
from callcenter.control import consult
from callcenter.control.consult import Consult, ConsultPlan, Stage
from callcenter.control.plan import CallView, Control, Refused

TALKING = CallView("1700000000.1", live=True, talking=True, caller_channel="PJSIP/pstn-01",
                   agent_channel="PJSIP/1001-02")
ENDED = CallView("1700000000.1", live=False, talking=False, caller_channel="PJSIP/pstn-01",
                 agent_channel="")
ASKED = Consult("1700000000.1", "hana", "ivan", "PJSIP/1002", "01234567", 10.0)
TALKED = Consult("1700000000.1", "hana", "ivan", "PJSIP/1002", "01234567", 10.0, answered=True)
IN_CONFERENCE = Consult("1700000000.1", "hana", "ivan", "PJSIP/1002", "01234567", 10.0,
                        Stage.CONFERENCE)


Step = Callable[[CallView, Control, Consult | None], ConsultPlan]


def shape(actions: tuple[Action, ...]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for a in actions:
        name = a.name
        if name == "PlayDTMF":
            out.append((name, a.header("Digit"), a.header("Receive")))
        elif name == "Setvar":
            out.append((name, a.header("Variable"), a.header("Value")))
        elif name == "Atxfer":
            out.append((name, a.header("Exten"), a.header("Context")))
        else:
            out.append((name, a.header("Channel")))
    return out


def test_given_a_talking_call_when_the_agent_consults_then_the_colleagues_phone_is_set_and_atxfer_sent(
        ) -> None:
    decided = consult.start(TALKING, Control(), None, ASKED)
    assert shape(decided.actions) == [("Setvar", "_CC_CONSULT_DIAL", "PJSIP/1002"),
                                      ("Atxfer", "01234567", "cc-consult")]
    assert all(a.header("Channel") == "PJSIP/1001-02" for a in decided.actions)
    assert decided.consult == ASKED and decided.state == Control()


def test_given_a_held_and_muted_agent_when_consulting_then_our_music_stops_and_the_agent_hears_again(
        ) -> None:
    decided = consult.start(TALKING, Control(held=True, hold_token="77", muted=True), None, ASKED)
    assert [a.name for a in decided.actions] == ["Hangup", "MuteAudio", "Setvar", "Atxfer"]
    assert decided.actions[1].header("State") == "off"
    assert decided.state == Control()


@pytest.mark.parametrize(("step", "under_way", "expected", "ended"), [
    (consult.complete, TALKED, [("PlayDTMF", "*", "true"), ("PlayDTMF", "2", "true")], True),
    (consult.cancel, ASKED, [("PlayDTMF", "*", "true"), ("PlayDTMF", "1", "true")], False),
    (consult.conference, TALKED, [("PlayDTMF", "*", "true"), ("PlayDTMF", "3", "true")], False),
    (consult.complete, IN_CONFERENCE, [("Hangup", "PJSIP/1001-02")], True),
])
def test_given_a_consult_when_the_agent_ends_it_then_the_features_code_is_received_from_their_channel(
        step: Step, under_way: Consult, expected: list[tuple[str, ...]], ended: bool) -> None:
    decided = step(TALKING, Control(), under_way)
    assert shape(decided.actions) == expected
    assert decided.state.ended is ended


def test_a_conference_keeps_the_consult_as_a_three_way() -> None:
    decided = consult.conference(TALKING, Control(), TALKED)
    assert decided.consult is not None and decided.consult.stage is Stage.CONFERENCE


def test_given_the_colleagues_phone_rings_then_cancel_goes_but_complete_and_conference_are_409(
        ) -> None:
    """No blind transfer to a ringing phone, and no three-way with nobody: both wait for the
    answer; going back to the caller (cancel) stops the ringing."""
    assert shape(consult.cancel(TALKING, Control(), ASKED).actions)[0] == ("PlayDTMF", "*", "true")
    for step in (consult.complete, consult.conference):
        with pytest.raises(Refused) as refused:
            step(TALKING, Control(), ASKED)
        assert (refused.value.status, refused.value.error_id) == (409, "colleague_ringing")


@pytest.mark.parametrize(("call", "step", "under_way", "error_id"), [
    (TALKING, consult.complete, None, "no_consult"),
    (TALKING, consult.cancel, None, "no_consult"),
    (TALKING, consult.conference, None, "no_consult"),
    (TALKING, consult.conference, IN_CONFERENCE, "in_conference"),
    (TALKING, consult.cancel, IN_CONFERENCE, "in_conference"),
    (ENDED, consult.complete, ASKED, "call_ended"),
])
def test_given_no_fitting_consult_when_the_agent_asks_then_409(
        call: CallView, step: Step, under_way: Consult | None, error_id: str) -> None:
    with pytest.raises(Refused) as refused:
        step(call, Control(), under_way)
    assert (refused.value.status, refused.value.error_id) == (409, error_id)


@pytest.mark.parametrize(("call", "state", "under_way", "error_id"), [
    (TALKING, Control(), ASKED, "consult_busy"),  # a double click
    (ENDED, Control(), None, "call_ended"),
    (TALKING, Control(ended=True), None, "call_ended"),
])
def test_given_a_call_that_cannot_consult_when_asked_then_409(
        call: CallView, state: Control, under_way: Consult | None, error_id: str) -> None:
    with pytest.raises(Refused) as refused:
        consult.start(call, state, under_way, ASKED)
    assert (refused.value.status, refused.value.error_id) == (409, error_id)


def test_a_token_the_consult_context_cannot_match_is_a_bug_not_a_refusal() -> None:
    with pytest.raises(ValueError, match="token"):
        consult.start(TALKING, Control(), None, Consult("c", "hana", "ivan", "PJSIP/1002", "12", 0))
