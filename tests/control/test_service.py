"""The control service: one action at a time per call, confirmed by the tracker's events, undone
when Asterisk does not confirm it, only for the agent on the call."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from callcenter.ami import messages
from callcenter.ami.errors import AmiError
from callcenter.ami.messages import Action, AmiResponse
from callcenter.ami.parser import Frame
from callcenter.calls.events import AgentHungUp, Held, Resumed
from callcenter.calls.model import Call, CallState, Leg, LegRole, Side
from callcenter.control.plan import Refused, Verb
from callcenter.control.service import ControlService

CALL = "1700000000.1"


def talking_call() -> Call:
    call = Call(CALL, 0.0, state=CallState.TALKING, caller_uniqueid=CALL, agent_uniqueid="a")
    call.legs[CALL] = Leg(CALL, "PJSIP/pstn-01", CALL, LegRole.CALLER, Side.CALLER, 0.0)
    call.legs["a"] = Leg("a", "PJSIP/1001-02", CALL, LegRole.AGENT, Side.AGENT, 1.0)
    return call


class Pbx:
    """Answers every action; tells the service Held/Resumed when told to confirm."""

    def __init__(self, confirm: bool = True, refuse: str = "") -> None:
        self.sent: list[Action] = []
        self.confirm, self.refuse = confirm, refuse
        self.service: ControlService | None = None
        self.call: Call | None = None  # the tracker's call, changed as the tracker would

    async def send(self, action: Action | messages.Originate) -> AmiResponse:
        rendered = action.action() if isinstance(action, messages.Originate) else action
        self.sent.append(rendered)
        await asyncio.sleep(0)
        if rendered.name == self.refuse:
            raise AmiError("No such channel")
        if self.confirm and self.service is not None:
            if rendered.name == "Originate" and self.call is not None:
                self.call.held_since = 5.0
                self.service.on_call_event(Held(CALL, 5.0, "PJSIP/pstn-01"))
            if rendered.name == "Hangup" and rendered.header("Channel").startswith("/") \
                    and self.call is not None:
                self.call.held_since, self.call.hold_channel = None, ""
                self.service.on_call_event(Resumed(CALL, 9.0, "PJSIP/pstn-01", 4.0))
        return AmiResponse(Frame({"Response": "Success"}, ""))


def service(pbx: Pbx, call: Call | None = None, owner: str = "sam") -> tuple[ControlService, list[Any]]:
    call = call or talking_call()
    told: list[Any] = []
    svc = ControlService(pbx.send, lambda cid: call if cid == CALL else None,
                         lambda cid: owner if cid == CALL else None,
                         lambda agent, message: told.append((agent, message)), lambda: 10.0,
                         confirm_s=0.2)
    pbx.service, pbx.call = svc, call
    return svc, told


async def test_given_the_agents_call_when_held_and_resumed_then_confirmed_and_told_to_the_screen() -> None:
    pbx = Pbx()
    svc, told = service(pbx)
    state = await svc.act("sam", CALL, Verb.HOLD)
    assert state["held"] is True
    assert [a.name for a in pbx.sent] == ["MuteAudio", "Originate"]
    state = await svc.act("sam", CALL, Verb.RESUME)
    assert state["held"] is False
    assert [m["held"] for _, m in told] == [True, False]
    assert all(agent == "sam" and m["type"] == "control" for agent, m in told)


async def test_given_another_agent_then_404_and_nothing_sent() -> None:
    pbx = Pbx()
    svc, _ = service(pbx)
    with pytest.raises(Refused) as refused:
        await svc.act("kim", CALL, Verb.HANGUP)
    assert refused.value.status == 404 and not pbx.sent
    with pytest.raises(Refused):
        await svc.act("sam", "1700000000.9", Verb.HANGUP)


async def test_given_a_double_click_then_the_second_is_refused_as_busy() -> None:
    pbx = Pbx()
    svc, _ = service(pbx)
    results = await asyncio.gather(svc.act("sam", CALL, Verb.HOLD), svc.act("sam", CALL, Verb.HOLD),
                                   return_exceptions=True)
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(refused) == 1 and refused[0].error_id == "control_busy"
    assert sum(a.name == "Originate" for a in pbx.sent) == 1


async def test_given_asterisk_never_confirms_the_hold_then_504_and_the_hold_is_undone() -> None:
    pbx = Pbx(confirm=False)
    svc, told = service(pbx)
    with pytest.raises(Refused) as refused:
        await svc.act("sam", CALL, Verb.HOLD)
    assert (refused.value.status, refused.value.error_id) == (504, "hold_not_confirmed")
    assert [a.name for a in pbx.sent] == ["MuteAudio", "Originate", "Hangup", "MuteAudio"]
    assert pbx.sent[-1].header("State") == "off" and not told
    assert svc.state(CALL)["held"] is False


async def test_given_asterisk_refuses_then_502_and_the_state_is_unchanged() -> None:
    pbx = Pbx(refuse="MuteAudio")
    svc, _ = service(pbx)
    with pytest.raises(Refused) as refused:
        await svc.act("sam", CALL, Verb.MUTE)
    assert (refused.value.status, refused.value.error_id) == (502, "pbx_refused")
    assert svc.state(CALL)["muted"] is False


async def test_given_the_agent_leg_ends_on_hold_then_the_music_is_stopped() -> None:
    pbx = Pbx()
    svc, _ = service(pbx)
    await svc.act("sam", CALL, Verb.HOLD)
    pbx.sent.clear()
    svc.on_call_event(AgentHungUp(CALL, 12.0, "PJSIP/1001-02", 16))
    await svc.wait_idle()
    assert len(pbx.sent) == 1 and pbx.sent[0].name == "Hangup"
    assert pbx.sent[0].header("Channel").startswith("/^Local/")
    assert pbx.sent[0].header("Channel").endswith("@cc\\-hold\\-music\\-/")
    assert svc.statistics()["calls"] == 0


async def test_given_a_hold_the_service_never_saw_then_the_agent_can_resume_it() -> None:
    call = talking_call()
    call.held_since, call.hold_channel = 3.0, "Local/000000042@cc-hold-music-0000001a;1"
    pbx = Pbx()
    svc, _ = service(pbx, call)
    assert svc.state(CALL)["held"] is True
    state = await svc.act("sam", CALL, Verb.RESUME)
    assert state["held"] is False
    assert pbx.sent[0].header("Channel") == "/^Local/000000042@cc\\-hold\\-music\\-/"


def lose_the_music(svc: ControlService, call: Call) -> None:
    """What the tracker reports after a reconnect when the music channel ended unseen."""
    call.held_since, call.hold_channel = None, ""
    svc.on_call_event(Resumed(CALL, 30.0, "PJSIP/pstn-01", 20.0, music_lost=True))


async def test_given_the_hold_music_was_lost_while_blind_then_new_music_and_the_screen_is_told() -> None:
    pbx = Pbx()
    call = talking_call()
    svc, told = service(pbx, call)
    first = (await svc.act("sam", CALL, Verb.HOLD))
    pbx.sent.clear()
    lose_the_music(svc, call)
    await svc.wait_idle()
    assert [a.name for a in pbx.sent] == ["MuteAudio", "Originate"]
    assert pbx.sent[1].header("Application") == "ChanSpy"
    assert pbx.sent[1].header("Channel") != first and call.held_since is not None
    agent, message = told[-1]
    assert agent == "sam" and message["held"] is True and message["notice"] == "hold_music_restarted"
    state = await svc.act("sam", CALL, Verb.RESUME)  # the agent can still resume it
    assert state["held"] is False and pbx.sent[-1].header("State") == "off"


async def test_given_the_lost_music_cannot_be_restarted_then_the_agent_is_unmuted_and_told() -> None:
    pbx = Pbx()
    call = talking_call()
    svc, told = service(pbx, call)
    await svc.act("sam", CALL, Verb.MUTE)
    await svc.act("sam", CALL, Verb.HOLD)
    pbx.sent.clear()
    pbx.confirm = False  # the new music never starts
    lose_the_music(svc, call)
    await svc.wait_idle()
    unmuted = [(a.header("Direction"), a.header("State")) for a in pbx.sent if a.name == "MuteAudio"]
    assert unmuted[-2:] == [("all", "off"), ("in", "on")]  # their own mute kept
    agent, message = told[-1]
    assert agent == "sam" and message["held"] is False and message["muted"] is True
    assert message["notice"] == "hold_music_lost"
    assert svc.state(CALL)["held"] is False


async def test_given_the_music_was_lost_on_a_call_nobody_talks_on_then_nothing_is_sent() -> None:
    pbx = Pbx()
    call = talking_call()
    svc, told = service(pbx, call, owner="")
    lose_the_music(svc, call)
    await svc.wait_idle()
    assert not pbx.sent and not told
