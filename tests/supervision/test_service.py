"""The monitoring sessions' life on the AMI stream, with a scripted link and an in-memory store:
stopped while the phone rings, the call ending while it rings, the link refusing the Originate,
the link dropping mid-session, the agent hanging up."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from structlog.testing import capture_logs

from callcenter.ami.errors import AmiActionFailed, AmiNotConnected
from callcenter.ami.messages import Action, AmiEvent, AmiResponse
from callcenter.ami.parser import Frame
from callcenter.calls.model import Call, CallState, Leg, LegRole, Side
from callcenter.metrics import Metrics
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

AGENT = "PJSIP/1001-0000000a"


class Store:
    """The SupervisionStore's calls, in memory."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.stale_closed: list[list[int]] = []
        self.gate = asyncio.Event()  # cleared: ``open`` waits, as a slow database does
        self.gate.set()
        self.waiting = 0  # opens waiting at the gate
        self.barge_raced = False  # another barge's row is written before ours (the unique index)
        self.fail: Exception | None = None  # the next ``open`` fails so

    async def wait_opening(self) -> None:
        for _ in range(100):
            if self.waiting:
                return
            await asyncio.sleep(0)
        raise AssertionError("no row is being opened")

    async def phone(self, login: str) -> str | None:
        return "PJSIP/1009"

    async def open(self, supervisor: str, call_id: str, agent_id: str, mode: Mode, phone: str,
                   at: float, live: list[int]) -> int:
        self.waiting += 1
        await self.gate.wait()
        self.waiting -= 1
        if self.barge_raced and mode is Mode.BARGE:
            raise BargeTaken("another supervisor is already barging into this call")
        if self.fail is not None:
            failure, self.fail = self.fail, None
            raise failure
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


SPY = "PJSIP/1009-00000001"  # the boss's phone in ChanSpy


async def ringing(service: SupervisionService, link: Link, mode: Mode = Mode.LISTEN, supervisor: str = "boss",
                  spy: str = SPY) -> tuple[asyncio.Task[Any], str]:
    before = len(link.sent)
    task = asyncio.create_task(service.start(supervisor, "1700.1", mode))
    for _ in range(100):
        if len(link.sent) > before:
            break
        await asyncio.sleep(0)
    assert len(link.sent) > before, "no Originate sent"
    originate = link.sent[-1]
    assert originate.header("Data") == f"{AGENT},{'qdE' if mode is Mode.LISTEN else 'qBdE'}"
    uid = originate.header("ChannelId")
    service.on_ami_event(event(Event="Newchannel", Channel=spy, Uniqueid=uid))
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
    assert link.hangups() == [uid] and store.stale_closed == [[]]  # by its ChannelId


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


async def on_the_phone(service: SupervisionService, link: Link, mode: Mode = Mode.LISTEN, supervisor: str = "boss",
                       spy: str = SPY) -> Any:
    task, uid = await ringing(service, link, mode, supervisor, spy)
    service.on_ami_event(event(Event="OriginateResponse", ActionID=f"a{len(link.sent)}", Response="Success",
                               Channel=spy, Uniqueid=uid))
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


def pressed(digit: str, direction: str = "Received", spy: str = SPY) -> AmiEvent:
    """A digit the supervisor's phone sent, as Asterisk reports it on the spy's channel."""
    return event(Event="DTMFEnd", Channel=spy, Digit=digit, DurationMs="120", Direction=direction)


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
                                 store, lambda: 100.0, ring_timeout_s=5.0,
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


def caught(metrics: Metrics, where: str) -> float:
    return metrics.registry.get_sample_value("callcenter_caught_failures_total", {"where": where}) or 0.0


Audited = list[tuple[str, str, str, dict[str, Any]]]


def audited_world(fail: Exception | None = None) -> tuple[SupervisionService, Link, Store, Metrics, Audited]:
    link, store, call, metrics = Link(), Store(), talking_call(), Metrics()
    audited: Audited = []

    async def audit(actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        if fail is not None:
            raise fail
        audited.append((actor, action, target, detail))

    service = SupervisionService(link.send, {call.linkedid: call}.get, lambda channel: "sam", store,
                                 lambda: 100.0, ring_timeout_s=5.0, metrics=metrics, audit=audit)
    link.service = service
    return service, link, store, metrics, audited


def rows(store: Store) -> list[tuple[str, str | None]]:
    return [(r["mode"], r["end_reason"]) for r in store.rows.values()]


async def test_given_a_phone_switch_being_stored_when_the_supervisor_keys_again_then_the_last_key_is_stored(
        world: Any) -> None:
    service, link, store, _ = world
    await on_the_phone(service, link)
    store.gate.clear()
    service.on_ami_event(pressed("5"))
    await store.wait_opening()  # listen ended, whisper's row not written yet
    service.on_ami_event(pressed("6"))  # ChanSpy barges now
    store.gate.set()
    await settled(service)
    [barge] = service.sessions()
    assert (barge.mode, barge.spy_channel, barge.state) == (Mode.BARGE, SPY, "active")
    assert rows(store) == [("listen", "switched"), ("whisper", "switched"), ("barge", None)]
    assert [a.name for a in link.sent] == ["Originate"] and service.statistics()["switched_on_phone"] == 2
    with pytest.raises(BargeTaken):  # the one-barge guard knows the keyed barge
        await service.start("deputy", "1700.1", Mode.BARGE)


@pytest.mark.parametrize(("echo_first", "chanspy_ends_in", "stored"), [
    (True, Mode.BARGE, [("listen", "switched"), ("whisper", "switched"), ("barge", None)]),
    (False, Mode.WHISPER, [("listen", "switched"), ("whisper", None)])])
async def test_given_a_wallboard_switch_being_stored_when_the_supervisor_keys_then_chanspys_last_digit_is_stored(
        world: Any, echo_first: bool, chanspy_ends_in: Mode, stored: list[tuple[str, str | None]]) -> None:
    service, link, store, _ = world
    listen = await on_the_phone(service, link)
    store.gate.clear()
    switching = asyncio.create_task(service.switch("boss", listen.id, Mode.WHISPER))
    await store.wait_opening()
    assert link.sent[-1].header("Digit") == "5"
    echo, key = pressed("5"), pressed("6")  # the server's digit as ChanSpy took it, the phone's key
    for digit_event in ((echo, key) if echo_first else (key, echo)):
        service.on_ami_event(digit_event)
    store.gate.set()
    whisper = await switching
    assert whisper.mode is Mode.WHISPER
    await settled(service)
    [last] = service.sessions()
    assert last.mode is chanspy_ends_in and rows(store) == stored
    assert [a.name for a in link.sent] == ["Originate", "PlayDTMF"]


async def test_given_a_phone_switch_under_way_when_asked_on_the_wallboard_then_409(world: Any) -> None:
    service, link, store, _ = world
    listen = await on_the_phone(service, link)
    service.on_ami_event(pressed("5"))  # the phone's switch is under way
    with pytest.raises(AlreadyMonitoring):
        await service.switch("boss", listen.id, Mode.BARGE)
    await settled(service)
    assert [s.mode for s in service.sessions()] == [Mode.WHISPER] and rows(store) == [
        ("listen", "switched"), ("whisper", None)]


async def test_given_another_supervisor_barging_when_6_is_keyed_then_chanspy_is_put_back_and_the_refusal_counted(
        ) -> None:
    service, link, store, metrics, audited = audited_world()
    deputy = await on_the_phone(service, link, Mode.BARGE, "deputy", "PJSIP/1010-00000002")
    listen = await on_the_phone(service, link)
    with capture_logs() as logs:
        service.on_ami_event(pressed("6"))  # ChanSpy barges: a second barge on the call
        await settled(service)
    assert service.sessions() == [deputy, listen] and listen.live and listen.mode is Mode.LISTEN
    assert dict(link.sent[-1].headers) == {"Channel": SPY, "Digit": "4", "Duration": "100", "Receive": "true"}
    assert link.hangups() == [] and rows(store) == [("barge", None), ("listen", None)]
    assert audited == [("boss", "call_monitor_switch_refused", "1700.1",
                        {"mode": "barge", "session": listen.id, "by": "phone", "error_id": "barge_taken"})]
    assert caught(metrics, "supervision_phone_barge_refused") == 1
    assert service.statistics()["refused_on_phone"] == 1
    assert [(e["event"], e["log_level"]) for e in logs] == [("supervision_phone_barge_refused", "info")]
    assert not any("exc_info" in e for e in logs)
    service.on_ami_event(pressed("4"))  # ChanSpy takes the 4 it was given: nothing to follow
    await settled(service)
    assert service.sessions() == [deputy, listen] and len(store.rows) == 2
    await service.stop("deputy", deputy.id)
    service.on_ami_event(pressed("6"))  # the barge is free now
    await settled(service)
    [barge] = service.sessions()
    assert barge.mode is Mode.BARGE and rows(store)[1:] == [("listen", "switched"), ("barge", None)]
    assert [a.name for a in link.sent].count("PlayDTMF") == 1


async def test_given_the_phone_hanging_up_while_its_switch_is_stored_then_counted_and_logged_without_traceback(
        ) -> None:
    service, link, store, metrics, _ = audited_world()
    listen = await on_the_phone(service, link)
    store.gate.clear()
    service.on_ami_event(pressed("5"))
    await store.wait_opening()
    service.on_ami_event(event(Event="Hangup", Channel=SPY, Uniqueid=listen.channel_id, Cause="16"))
    with capture_logs() as logs:
        store.gate.set()
        await settled(service)
    assert service.sessions() == [] and rows(store) == [("listen", "switched"), ("whisper", "hung_up")]
    assert caught(metrics, "supervision_phone_switch_not_recorded") == 1
    [failed] = [e for e in logs if e["event"] == "supervision_phone_switch_not_recorded"]
    assert failed["log_level"] == "info" and failed["error_id"] == "session_stopped" and "exc_info" not in failed
    service.on_ami_event(pressed("6"))  # the phone is gone: its digits switch nothing
    await settled(service)
    assert len(store.rows) == 2


@pytest.mark.parametrize(("failure", "level", "traceback"), [
    (OSError("connection lost"), "warning", False), (RuntimeError("a bug"), "error", True)])
async def test_given_the_audit_failing_then_the_phone_switch_is_stored_and_the_failure_counted(
        failure: Exception, level: str, traceback: bool) -> None:
    service, link, store, metrics, _ = audited_world(fail=failure)
    await on_the_phone(service, link)
    with capture_logs() as logs:
        service.on_ami_event(pressed("5"))
        await settled(service)
    assert [s.mode for s in service.sessions()] == [Mode.WHISPER]
    assert rows(store) == [("listen", "switched"), ("whisper", None)]
    assert caught(metrics, "supervision_audit_failed") == 1
    [failed] = [e for e in logs if e["event"] == "supervision_audit_failed"]
    assert failed["log_level"] == level and ("exc_info" in failed) is traceback


async def test_given_the_database_refusing_a_barge_keyed_on_the_phone_then_the_spy_listens_again_and_is_told(
        ) -> None:
    """The check passed, but another barge's row was written before ours: ChanSpy is given the
    4 back, the supervisor goes on listening (a row of its own), the refusal is counted,
    audited and noted for the wallboard; the phone is never hung up."""
    service, link, store, metrics, audited = audited_world()
    listen = await on_the_phone(service, link)
    store.barge_raced = True
    with capture_logs() as logs:
        service.on_ami_event(pressed("6"))
        await settled(service)
    [again] = service.sessions()
    assert (again.mode, again.note, again.spy_channel, again.live) == (Mode.LISTEN, "barge_taken", SPY, True)
    assert again.to_json()["note"] == "barge_taken" and again.channel_id == listen.channel_id
    assert dict(link.sent[-1].headers) == {"Channel": SPY, "Digit": "4", "Duration": "100", "Receive": "true"}
    assert link.hangups() == [] and rows(store) == [("listen", "switched"), ("listen", None)]
    assert store.rows[again.id]["answered"]
    assert audited == [("boss", "call_monitor_switch_refused", "1700.1",
                        {"mode": "barge", "session": again.id, "by": "phone", "error_id": "barge_taken"})]
    assert caught(metrics, "supervision_phone_barge_refused") == 1
    assert caught(metrics, "supervision_phone_switch_not_recorded") == 0
    assert service.statistics()["refused_on_phone"] == 1
    assert [e["event"] for e in logs if e["log_level"] != "debug"] == ["supervision_ended",
                                                                       "supervision_phone_barge_refused"]
    service.on_ami_event(pressed("4"))  # ChanSpy's echo of the 4 it was given: nothing to follow
    await settled(service)
    assert service.sessions() == [again] and len(store.rows) == 2
    store.barge_raced = False
    service.on_ami_event(pressed("6"))  # free now: the barge is recorded
    await settled(service)
    [barge] = service.sessions()
    assert (barge.mode, barge.note) == (Mode.BARGE, "") and link.hangups() == []


async def test_given_the_database_refusing_a_barge_asked_on_the_wallboard_then_409_and_the_spy_listens_again(
        world: Any) -> None:
    """The session was replaced (the listen row ended ``switched``, a new listen row): the
    refusal is audited with the session going on and counted, as one keyed on the phone is."""
    service, link, store, metrics, audited = audited_world()
    listen = await on_the_phone(service, link)
    store.barge_raced = True
    with capture_logs() as logs, pytest.raises(BargeTaken):
        await service.switch("boss", listen.id, Mode.BARGE)
    [again] = service.sessions()
    assert (again.mode, again.note) == (Mode.LISTEN, "barge_taken")
    assert [a.header("Digit") for a in link.sent if a.name == "PlayDTMF"] == ["6", "4"]
    assert link.hangups() == [] and rows(store) == [("listen", "switched"), ("listen", None)]
    assert service.statistics()["refused"] == 1 and service.statistics()["refused_on_phone"] == 0
    assert audited == [("boss", "call_monitor_switch_refused", "1700.1",
                        {"mode": "barge", "session": again.id, "by": "wallboard", "error_id": "barge_taken"})]
    assert caught(metrics, "supervision_wallboard_barge_refused") == 1
    assert caught(metrics, "supervision_phone_barge_refused") == 0
    assert [(e["event"], e["log_level"]) for e in logs if e["log_level"] != "debug"] == [
        ("supervision_ended", "info"), ("supervision_wallboard_barge_refused", "info")]


async def test_given_another_barge_seen_in_memory_when_switching_on_the_wallboard_then_409_and_no_audit(
        ) -> None:
    """Refused before anything changed (the session goes on as it was): a plain 409."""
    service, link, store, metrics, audited = audited_world()
    listen = await on_the_phone(service, link)
    other = copy.copy(listen)
    other.id, other.supervisor, other.mode = 99, "deputy", Mode.BARGE
    service._live[99] = other
    with pytest.raises(BargeTaken):
        await service.switch("boss", listen.id, Mode.BARGE)
    assert listen.live and listen.note == "" and audited == [] and rows(store) == [("listen", None)]
    assert caught(metrics, "supervision_wallboard_barge_refused") == 0


@pytest.mark.parametrize("failure", ["no_row", "pbx_down"])
async def test_given_a_refused_barge_that_cannot_go_back_then_the_phone_is_hung_up(failure: str) -> None:
    """Neither recorded nor put back, the phone must not go on spying unrecorded."""
    service, link, store, metrics, _ = audited_world()
    spied = await on_the_phone(service, link)
    store.barge_raced = True
    if failure == "no_row":
        store.fail = OSError("connection lost")  # the listen row after the refused barge
    else:
        link.up = False  # ChanSpy cannot be given the 4 back (nor the phone hung up: Asterisk's E)
    service.on_ami_event(pressed("6"))
    await settled(service)
    assert service.sessions() == [] and rows(store) == [("listen", "switched")]
    assert link.hangups() == ([SPY] if failure == "no_row" else [])
    assert caught(metrics, "supervision_phone_switch_not_recorded") == 1
    assert caught(metrics, "supervision_phone_barge_refused") == 0
    assert forgotten(service)
    if failure == "pbx_down":  # the spy is hung up once the link is back
        await service.on_link("down")
        link.up = True
        await service.on_link("up")
        assert link.hangups() == [spied.channel_id]
    service.on_ami_event(pressed("6"))  # its digits switch nothing any more
    await settled(service)
    assert service.sessions() == [] and len(store.rows) == 1


def forgotten(service: SupervisionService) -> bool:
    """Nothing of a spy left: no session, no channel, no digits followed."""
    return not (service.sessions() or service._by_channel or service._spies or service._keyed)


async def test_given_a_wallboard_barge_refused_while_the_link_drops_then_the_spy_is_hung_up_when_it_is_back(
        world: Any) -> None:
    """The database refuses the barge and the link drops before ChanSpy is given the 4 back:
    the spy can be neither put back nor hung up now; it is forgotten at once and hung up as
    soon as the link returns."""
    service, link, store, _ = world
    listen = await on_the_phone(service, link)
    store.barge_raced = True
    store.gate.clear()
    switching = asyncio.create_task(service.switch("boss", listen.id, Mode.BARGE))
    await store.wait_opening()
    link.up = False
    store.gate.set()
    with pytest.raises(PbxUnavailable):
        await switching
    assert forgotten(service) and rows(store) == [("listen", "switched")] and link.hangups() == []
    await service.on_link("down")
    link.up = True
    await service.on_link("up")
    assert link.hangups() == [listen.channel_id] and forgotten(service)
    await service.on_link("up")  # hung up once
    assert link.hangups() == [listen.channel_id]


async def test_given_a_phone_already_gone_when_stopped_then_it_is_not_hung_up_again_when_the_link_returns(
        world: Any) -> None:
    """Asterisk answering the Hangup with an error (no such channel) is no reason to retry it."""
    service, link, _, _ = world
    listen = await on_the_phone(service, link)
    real: Link = link

    async def no_such_channel(action: Action) -> AmiResponse:
        if action.name == "Hangup":
            raise AmiActionFailed("Hangup", "No such channel")
        return await real.send(action)

    service._send = no_such_channel
    await service.stop("boss", listen.id)
    await service.on_link("up")
    assert link.hangups() == [] and service._orphans == set()


async def test_given_a_barge_asked_again_that_the_database_refuses_then_no_refusal_is_told_of_a_spy_let_go() -> None:
    """Barging, asked to barge again (its old row still open: the unique index refuses the new
    one): there is no previous mode to go back to, so the spy is let go and hung up, and no
    refusal says a session goes on."""
    service, link, store, metrics, audited = audited_world()
    barge = await on_the_phone(service, link, Mode.BARGE)
    store.barge_raced = True
    with pytest.raises(BargeTaken):
        await service.switch("boss", barge.id, Mode.BARGE)
    assert forgotten(service) and link.hangups() == [SPY]
    assert audited == [] and caught(metrics, "supervision_wallboard_barge_refused") == 0


async def test_given_a_switch_being_stored_when_the_link_drops_then_its_row_ends_failed_and_the_spy_is_hung_up_when_back(
        world: Any) -> None:
    """The old session is out of the live ones while the new row is written: the link going
    down then still leaves nothing live, and the spy is hung up once the link is back."""
    service, link, store, _ = world
    listen = await on_the_phone(service, link)
    store.gate.clear()
    switching = asyncio.create_task(service.switch("boss", listen.id, Mode.WHISPER))
    await store.wait_opening()
    link.up = False
    await service.on_link("down")
    store.gate.set()
    with pytest.raises(SessionStopped):
        await switching
    assert rows(store) == [("listen", "switched"), ("whisper", "failed")] and forgotten(service)
    link.up = True
    await service.on_link("up")
    assert link.hangups() == [listen.channel_id]
