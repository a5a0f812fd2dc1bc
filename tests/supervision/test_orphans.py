"""Spies left when the AMI link dropped are hung up, once it is back, by their uniqueid (the
``ChannelId`` their Originate gave them), never by their name: with Asterisk restarted
meanwhile, the name (``PJSIP/1009-00000001``) can be a new, unrelated channel's. Asterisk here
is a model of its channels that takes a ``Hangup`` by name or by uniqueid, as Asterisk 22 does
(tests/pbx/test_supervision.py checks that on the real one)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from callcenter.ami.errors import AmiActionFailed, AmiError, AmiLinkLost, AmiNotConnected, AmiTimeout
from callcenter.ami.messages import Action, AmiResponse
from callcenter.ami.parser import Frame
from callcenter.supervision.errors import PbxUnavailable, SessionStopped
from callcenter.supervision.model import Mode
from callcenter.supervision.service import SupervisionService
from tests.supervision.test_service import SPY, Store, event, talking_call


class Asterisk:
    """The AMI link and the PBX's live channels (uniqueid -> name)."""

    def __init__(self) -> None:
        self.channels: dict[str, str] = {}
        self.up = True
        self.sent: list[Action] = []
        self.service: SupervisionService | None = None
        self.frozen: AmiError | None = None  # written, then no answer: the link lost, or a timeout

    async def send(self, action: Action) -> AmiResponse:
        if not self.up:
            raise AmiNotConnected("AMI link is down")
        self.sent.append(action)
        assert self.service is not None
        self.service.on_action(action, f"a{len(self.sent)}", 0.0)
        if self.frozen is not None:
            raise self.frozen
        if action.name == "Hangup":
            named = action.header("Channel")
            found = next((uid for uid, name in self.channels.items() if name == named), None)
            found = found or (named if named in self.channels else None)
            if found is None:
                raise AmiActionFailed("Hangup", "No such channel")
            del self.channels[found]
        return AmiResponse(Frame({"Response": "Success"}, ""))

    def hangups(self) -> list[str]:
        return [a.header("Channel") for a in self.sent if a.name == "Hangup"]

    def restart(self) -> None:
        """Asterisk restarted: its channels are gone, names count from 1 again."""
        self.channels.clear()


@pytest.fixture
def pbx() -> tuple[SupervisionService, Asterisk]:
    asterisk, call = Asterisk(), talking_call()
    service = SupervisionService(asterisk.send, {call.linkedid: call}.get, lambda channel: "sam",
                                 Store(), lambda: 100.0, ring_timeout_s=5.0)
    asterisk.service = service
    return service, asterisk


async def originated(service: SupervisionService, asterisk: Asterisk) -> tuple[asyncio.Task[Any], str]:
    """The boss's phone rung into ChanSpy: the Originate sent, its ChannelId the new channel's
    uniqueid (Asterisk has it; the server has not seen its Newchannel yet)."""
    task = asyncio.create_task(service.start("boss", "1700.1", Mode.LISTEN))
    for _ in range(100):
        if asterisk.sent:
            break
        await asyncio.sleep(0)
    [originate] = asterisk.sent
    uid = originate.header("ChannelId")
    assert uid, "the spy's Originate names its channel"
    asterisk.channels[uid] = SPY
    return task, uid


async def spying(service: SupervisionService, asterisk: Asterisk) -> str:
    task, uid = await originated(service, asterisk)
    service.on_ami_event(event(Event="Newchannel", Channel=SPY, Uniqueid=uid))
    service.on_ami_event(event(Event="OriginateResponse", ActionID="a1", Response="Success",
                               Channel=SPY, Uniqueid=uid))
    await task
    return uid


async def test_given_a_spy_when_the_link_drops_and_asterisk_restarts_then_the_new_channel_with_its_name_is_left(
        pbx: Any) -> None:
    service, asterisk = pbx
    uid = await spying(service, asterisk)
    asterisk.up = False
    await service.on_link("down")
    asterisk.restart()
    asterisk.channels["1733490000.5"] = SPY  # someone else's call, with the spy's old name
    asterisk.up = True
    await service.on_link("up")
    assert asterisk.hangups() == [uid]  # by its uniqueid: Asterisk answers no such channel
    assert asterisk.channels == {"1733490000.5": SPY}, "an unrelated channel was hung up"
    await service.on_link("up")
    assert asterisk.hangups() == [uid], "asked again although Asterisk said it is gone"


async def test_given_a_spy_when_the_link_drops_and_comes_back_then_the_very_spy_is_hung_up(
        pbx: Any) -> None:
    service, asterisk = pbx
    uid = await spying(service, asterisk)
    asterisk.up = False
    await service.on_link("down")
    asterisk.up = True
    await service.on_link("up")
    assert asterisk.hangups() == [uid] and asterisk.channels == {}


async def test_given_a_phone_still_ringing_unnamed_when_the_link_drops_then_it_is_hung_up_by_its_id(
        pbx: Any) -> None:
    """Its Newchannel never reached the server: there is no name to hang it up by, its
    ChannelId is enough. (Also the Originate lost with the link, its drop seen first: the
    ringing session is still live when the link goes down.)"""
    service, asterisk = pbx
    task, uid = await originated(service, asterisk)
    asterisk.up = False
    await service.on_link("down")
    with pytest.raises(SessionStopped):
        await task
    asterisk.up = True
    await service.on_link("up")
    assert asterisk.hangups() == [uid] and asterisk.channels == {}


async def test_given_the_link_dropping_again_while_orphans_are_hung_up_then_they_wait_for_the_next_time(
        pbx: Any) -> None:
    service, asterisk = pbx
    uid = await spying(service, asterisk)
    asterisk.up = False
    await service.on_link("down")
    await service.on_link("up")  # back, and down again before the Hangup went out
    assert asterisk.hangups() == [] and asterisk.channels == {uid: SPY}
    asterisk.up = True
    await service.on_link("up")
    assert asterisk.hangups() == [uid] and asterisk.channels == {}


async def frozen_ring(service: SupervisionService, asterisk: Asterisk, lost: AmiError) -> str:
    """The Originate written, Asterisk frozen before it answered: the start fails (the PBX did
    not take the call, as far as the server knows), but Asterisk has the Originate and may
    ring the phone once it thaws. Its ChannelId."""
    asterisk.frozen = lost
    with pytest.raises(PbxUnavailable):
        await service.start("boss", "1700.1", Mode.LISTEN)
    asterisk.frozen = None
    [originate] = asterisk.sent
    assert service.sessions() == []
    return originate.header("ChannelId")


@pytest.mark.parametrize("lost", [AmiLinkLost("Originate: AMI link lost"),
                                  AmiTimeout("Originate: no answer within 5s")])
async def test_given_an_originate_unanswered_when_the_link_drops_after_the_start_failed_then_its_phone_is_hung_up_once_back(
        pbx: Any, lost: AmiError) -> None:
    """Once the link is back, Asterisk (thawed) may be ringing the phone, or have had it picked
    up into ChanSpy, with no session left to follow it."""
    service, asterisk = pbx
    uid = await frozen_ring(service, asterisk, lost)
    asterisk.channels[uid] = SPY  # rung after the thaw
    asterisk.up = False
    await service.on_link("down")
    asterisk.up = True
    await service.on_link("up")
    assert asterisk.hangups() == [uid] and asterisk.channels == {}


async def test_given_an_originate_that_timed_out_when_asterisk_rings_it_later_then_it_is_hung_up_on_pickup(
        pbx: Any) -> None:
    """The link stayed up: the late OriginateResponse finds the phone, no session spies."""
    service, asterisk = pbx
    uid = await frozen_ring(service, asterisk, AmiTimeout("Originate: no answer within 5s"))
    asterisk.channels[uid] = SPY
    service.on_ami_event(event(Event="Newchannel", Channel=SPY, Uniqueid=uid))
    service.on_ami_event(event(Event="OriginateResponse", ActionID="a1", Response="Success",
                               Channel=SPY, Uniqueid=uid))
    await service.close()
    assert asterisk.hangups() == [SPY] and asterisk.channels == {}


async def test_given_an_originate_asterisk_refused_when_the_link_drops_then_nothing_is_hung_up(
        pbx: Any) -> None:
    service, asterisk = pbx
    uid = await frozen_ring(service, asterisk, AmiActionFailed("Originate", "Extension does not exist"))
    assert uid
    asterisk.up = False
    await service.on_link("down")
    asterisk.up = True
    await service.on_link("up")
    assert asterisk.hangups() == []
