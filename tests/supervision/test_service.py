"""The monitoring sessions' life on the AMI stream, with a scripted link and an in-memory store:
stopped while the phone rings, the call ending while it rings, the link refusing the Originate,
the link dropping mid-session, the agent hanging up."""

from __future__ import annotations

import asyncio
import copy
from typing import Any, cast

import pytest

from callcenter.ami.errors import AmiNotConnected
from callcenter.ami.messages import Action, AmiEvent, AmiResponse
from callcenter.ami.parser import Frame
from callcenter.calls.model import Call, CallState, Leg, LegRole, Side
from callcenter.supervision.errors import (
    AlreadyMonitoring,
    BargeTaken,
    CallEnded,
    PbxUnavailable,
    PhoneUnavailable,
    SessionNotFound,
    SessionStopped,
)
from callcenter.supervision.model import EndReason, Mode
from callcenter.supervision.service import SupervisionService
from callcenter.supervision.store import SupervisionStore

AGENT = "PJSIP/1001-0000000a"


class Store:
    """The SupervisionStore's calls, in memory."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.stale_closed: list[list[int]] = []

    async def phone(self, login: str) -> str | None:
        return "PJSIP/1009"

    async def open(self, supervisor: str, call_id: str, agent_id: str, mode: Mode, phone: str,
                   at: float, live: list[int]) -> int:
        session_id = len(self.rows) + 1
        self.rows[session_id] = {"mode": mode.value, "end_reason": None, "answered": False}
        return session_id

    async def answered(self, session_id: int, spy_channel: str, at: float) -> None:
        self.rows[session_id]["answered"] = True

    async def close(self, session_id: int, reason: EndReason, at: float) -> None:
        self.rows[session_id]["end_reason"] = reason.value

    async def close_stale(self, live: list[int], at: float) -> int:
        self.stale_closed.append(live)
        return 0

    async def set_phone(self, login: str, phone: str | None) -> bool:
        return False

    async def history(self, call_id: str) -> list[dict[str, Any]]:
        return [{"id": session_id, **row} for session_id, row in self.rows.items()]


def event(**fields: str) -> AmiEvent:
    return AmiEvent(Frame(dict(fields), ""), 0.0)


def talking_call() -> Call:
    call = Call("1700.1", 0.0, state=CallState.TALKING, caller_uniqueid="1700.1", agent_uniqueid="1700.2")
    call.legs["1700.1"] = Leg("1700.1", "PJSIP/carrier-00000001", "1700.1", LegRole.CALLER, Side.CALLER, 0.0)
    call.legs["1700.2"] = Leg("1700.2", AGENT, "1700.1", LegRole.AGENT, Side.AGENT, 0.0)
    return call


class Link:
    def __init__(self) -> None:
        self.sent: list[Action] = []
        self.up = True
        self.service: SupervisionService | None = None

    async def send(self, action: Action) -> AmiResponse:
        if not self.up:
            raise AmiNotConnected("AMI link is down")
        self.sent.append(action)
        assert self.service is not None
        self.service.on_action(action, f"a{len(self.sent)}", 0.0)
        return AmiResponse(Frame({"Response": "Success"}, ""))

    def hangups(self) -> list[str]:
        return [a.header("Channel") for a in self.sent if a.name == "Hangup"]


@pytest.fixture
def world() -> tuple[SupervisionService, Link, Store, Call]:
    link, store, call = Link(), Store(), talking_call()
    service = SupervisionService(link.send, {call.linkedid: call}.get, lambda channel: "sam", store,
                                 lambda: 100.0, ring_timeout_s=5.0)
    link.service = service
    return service, link, store, call


async def ringing(service: SupervisionService, link: Link, mode: Mode = Mode.LISTEN
                  ) -> tuple[asyncio.Task[Any], str]:
    before = len(link.sent)
    task = asyncio.create_task(service.start("boss", "1700.1", mode))
    for _ in range(100):
        if len(link.sent) > before:
            break
        await asyncio.sleep(0)
    assert len(link.sent) > before, "no Originate sent"
    originate = link.sent[-1]
    assert originate.header("Data") == f"{AGENT},{'qdE' if mode is Mode.LISTEN else 'qBdE'}"
    uid = originate.header("ChannelId")
    service.on_ami_event(event(Event="Newchannel", Channel="PJSIP/1009-00000001", Uniqueid=uid))
    return task, uid


async def test_given_phone_ringing_when_stopped_then_start_refused_and_late_answer_hung_up(world: Any) -> None:
    service, link, store, _ = world
    task, uid = await ringing(service, link)
    [session] = service.sessions()
    await service.stop("boss", session.id)
    with pytest.raises(SessionStopped):
        await task
    assert link.hangups() == ["PJSIP/1009-00000001"]
    service.on_ami_event(event(Event="OriginateResponse", ActionID="a1", Response="Success",
                               Channel="PJSIP/1009-00000001", Uniqueid=uid))
    await asyncio.sleep(0)
    assert link.hangups() == ["PJSIP/1009-00000001"] * 2  # picked up too late: hung up again
    assert store.rows[1]["end_reason"] == "stopped" and service.sessions() == []


async def test_given_phone_ringing_when_the_call_ends_then_call_ended_and_phone_hung_up(world: Any) -> None:
    service, link, store, call = world
    task, _ = await ringing(service, link)
    call.state = CallState.ENDED
    service.on_ami_event(event(Event="Hangup", Channel=AGENT, Uniqueid="1700.2", Cause="16"))
    with pytest.raises(CallEnded):
        await task
    assert "PJSIP/1009-00000001" in link.hangups()
    assert store.rows[1]["end_reason"] == "call_ended"


async def test_given_link_down_then_pbx_unavailable_and_nothing_left_live(world: Any) -> None:
    service, link, store, _ = world
    link.up = False
    with pytest.raises(PbxUnavailable):
        await service.start("boss", "1700.1", Mode.BARGE)
    assert store.rows[1]["end_reason"] == "failed" and service.sessions() == []
    link.up = True
    task, uid = await ringing(service, link, Mode.BARGE)  # the barge place was given back
    service.on_ami_event(event(Event="OriginateResponse", ActionID="a1", Response="Success",
                               Channel="PJSIP/1009-00000001", Uniqueid=uid))
    session = await task
    assert session.state == "active" and store.rows[2]["answered"]


async def test_given_active_session_when_link_drops_then_failed_and_phone_hung_up_when_back(world: Any) -> None:
    service, link, store, _ = world
    task, uid = await ringing(service, link)
    service.on_ami_event(event(Event="OriginateResponse", ActionID="a1", Response="Success",
                               Channel="PJSIP/1009-00000001", Uniqueid=uid))
    await task
    await service.on_link("down")
    assert service.sessions() == [] and store.rows[1]["end_reason"] == "failed"
    assert link.hangups() == []
    await service.on_link("up")
    assert link.hangups() == ["PJSIP/1009-00000001"] and store.stale_closed == [[]]


async def test_given_active_session_when_agent_hangs_up_then_session_ends_with_the_call(world: Any) -> None:
    service, link, store, call = world
    task, uid = await ringing(service, link)
    service.on_ami_event(event(Event="OriginateResponse", ActionID="a1", Response="Success",
                               Channel="PJSIP/1009-00000001", Uniqueid=uid))
    await task
    call.legs["1700.2"].ended_at = 101.0
    service.on_ami_event(event(Event="Hangup", Channel=AGENT, Uniqueid="1700.2", Cause="16"))
    await asyncio.sleep(0.01)
    service.on_ami_event(event(Event="Hangup", Channel="PJSIP/1009-00000001", Uniqueid=uid, Cause="0"))
    await asyncio.sleep(0.01)
    assert store.rows[1]["end_reason"] == "call_ended" and service.sessions() == []


async def test_given_phone_rejecting_the_call_then_phone_unavailable_whatever_the_order(world: Any) -> None:
    service, link, store, _ = world
    task, uid = await ringing(service, link)  # 486 Busy: the Hangup before the OriginateResponse
    service.on_ami_event(event(Event="Hangup", Channel="PJSIP/1009-00000001", Uniqueid=uid, Cause="17"))
    with pytest.raises(PhoneUnavailable):
        await task
    task, uid = await ringing(service, link)  # and after it
    service.on_ami_event(event(Event="OriginateResponse", ActionID=f"a{len(link.sent)}", Response="Failure",
                               Channel="PJSIP/1009", Uniqueid="<unknown>"))
    service.on_ami_event(event(Event="Hangup", Channel="PJSIP/1009-00000001", Uniqueid=uid, Cause="17"))
    with pytest.raises(PhoneUnavailable):
        await task
    assert [r["end_reason"] for r in store.rows.values()] == ["phone_unavailable"] * 2
    assert service.sessions() == []


async def test_given_active_session_when_agent_transfers_then_agent_left_while_the_call_goes_on(
        world: Any) -> None:
    service, link, store, call = world
    task, uid = await ringing(service, link)
    service.on_ami_event(event(Event="OriginateResponse", ActionID="a1", Response="Success",
                               Channel="PJSIP/1009-00000001", Uniqueid=uid))
    await task
    leg = call.legs["1700.2"]  # the tracker saw the BlindTransfer, then the agent's Hangup
    leg.ended_at, leg.ended_how, leg.transferred_to = 101.0, "transfer", "refunds"
    call.state = CallState.IVR  # the caller is back in routing
    service.on_ami_event(event(Event="Hangup", Channel=AGENT, Uniqueid="1700.2", Cause="16"))
    await asyncio.sleep(0.01)
    assert store.rows[1]["end_reason"] == "agent_left" and service.sessions() == []
    assert "PJSIP/1009-00000001" in link.hangups()  # the spy leg is hung up with it


async def on_the_phone(service: SupervisionService, link: Link, mode: Mode = Mode.LISTEN) -> Any:
    task, uid = await ringing(service, link, mode)
    service.on_ami_event(event(Event="OriginateResponse", ActionID=f"a{len(link.sent)}", Response="Success",
                               Channel="PJSIP/1009-00000001", Uniqueid=uid))
    return await task


async def test_given_a_supervisor_listening_when_switched_to_whisper_then_the_live_spy_switches(
        world: Any) -> None:
    service, link, store, _ = world
    listen = await on_the_phone(service, link)
    whisper = await service.switch("boss", listen.id, Mode.WHISPER)
    assert [a.name for a in link.sent] == ["Originate", "PlayDTMF"]  # the phone is not rung again
    dtmf = dict(link.sent[-1].headers)
    assert dtmf == {"Channel": "PJSIP/1009-00000001", "Digit": "5", "Duration": "100", "Receive": "true"}
    assert (whisper.mode, whisper.spy_channel, whisper.state) == (Mode.WHISPER, "PJSIP/1009-00000001", "active")
    assert store.rows[listen.id]["end_reason"] == "switched"
    assert store.rows[whisper.id] == {"mode": "whisper", "end_reason": None, "answered": True}
    barge = await service.switch("boss", whisper.id, Mode.BARGE)
    assert link.sent[-1].header("Digit") == "6" and service.sessions() == [barge]
    # the phone hangs up: the session that went on in barge ends with it
    service.on_ami_event(event(Event="Hangup", Channel="PJSIP/1009-00000001", Uniqueid=barge.channel_id))
    await asyncio.sleep(0)
    assert store.rows[barge.id]["end_reason"] == "hung_up" and service.sessions() == []


async def test_given_another_barge_when_switching_to_barge_then_refused_and_the_session_goes_on(
        world: Any) -> None:
    service, link, store, _ = world
    listen = await on_the_phone(service, link)
    other = copy.copy(listen)
    other.id, other.supervisor, other.mode, other.channel_id = 99, "deputy", Mode.BARGE, "spy-99-x"
    service._live[99] = other  # another supervisor's live barge on the same call
    with pytest.raises(BargeTaken):
        await service.switch("boss", listen.id, Mode.BARGE)
    assert [a.name for a in link.sent] == ["Originate"] and listen.live
    assert store.rows[listen.id]["end_reason"] is None


async def test_given_a_double_click_on_switch_then_one_switch_and_a_409(world: Any) -> None:
    service, link, _, _ = world
    listen = await on_the_phone(service, link)
    results = await asyncio.gather(service.switch("boss", listen.id, Mode.WHISPER),
                                   service.switch("boss", listen.id, Mode.WHISPER), return_exceptions=True)
    assert sum(isinstance(r, AlreadyMonitoring | SessionNotFound) for r in results) == 1
    assert [a.name for a in link.sent].count("PlayDTMF") == 1 and len(service.sessions()) == 1


def pressed(digit: str, direction: str = "Received") -> AmiEvent:
    """A digit the supervisor's phone sent, as Asterisk reports it on the spy's channel."""
    return event(Event="DTMFEnd", Channel="PJSIP/1009-00000001", Digit=digit, DurationMs="120",
                 Direction=direction)


async def settled(service: SupervisionService) -> None:
    for _ in range(50):
        await asyncio.sleep(0)


async def test_given_a_supervisor_listening_when_they_press_5_and_6_on_their_phone_then_the_stored_mode_follows(
        ) -> None:
    link, store, call = Link(), Store(), talking_call()
    audited: list[tuple[str, str, str, dict[str, Any]]] = []

    async def audit(actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        audited.append((actor, action, target, detail))

    service = SupervisionService(link.send, {call.linkedid: call}.get, lambda channel: "sam",
                                 cast(SupervisionStore, store), lambda: 100.0, ring_timeout_s=5.0,
                                 audit=audit)
    link.service = service
    listen = await on_the_phone(service, link)
    service.on_ami_event(pressed("5"))
    await settled(service)
    [whisper] = service.sessions()
    assert (whisper.mode, whisper.spy_channel, whisper.state) == (Mode.WHISPER, "PJSIP/1009-00000001", "active")
    assert store.rows[listen.id]["end_reason"] == "switched"
    assert store.rows[whisper.id] == {"mode": "whisper", "end_reason": None, "answered": True}
    assert [a.name for a in link.sent] == ["Originate"]  # Asterisk switched: nothing to send
    # two digits at once: the last one is what ChanSpy ends in
    service.on_ami_event(pressed("6"))
    service.on_ami_event(pressed("4"))
    await settled(service)
    [last] = service.sessions()
    assert last.mode is Mode.LISTEN
    assert [r["mode"] for r in store.rows.values()] == ["listen", "whisper", "listen"]
    assert [(a, act, d["mode"], d["by"]) for a, act, _, d in audited] == [
        ("boss", "call_monitor_switched", "whisper", "phone"), ("boss", "call_monitor_switched", "listen", "phone")]
    assert service.statistics()["switched_on_phone"] == 2


async def test_digits_that_switch_nothing_change_nothing(world: Any) -> None:
    service, link, store, _ = world
    listen = await on_the_phone(service, link)
    for digit_event in (pressed("4"), pressed("7"), pressed("5", direction="Sent"),
                        event(Event="DTMFEnd", Channel="PJSIP/1001-0000000a", Digit="6", Direction="Received")):
        service.on_ami_event(digit_event)
    await settled(service)
    assert service.sessions() == [listen] and len(store.rows) == 1


async def test_given_a_switch_asked_on_the_wallboard_then_its_own_digit_echo_is_no_second_switch(
        world: Any) -> None:
    service, link, store, _ = world
    listen = await on_the_phone(service, link)
    whisper = await service.switch("boss", listen.id, Mode.WHISPER)
    service.on_ami_event(pressed("5"))  # Asterisk reports the digit the server played
    await settled(service)
    assert service.sessions() == [whisper] and len(store.rows) == 2
