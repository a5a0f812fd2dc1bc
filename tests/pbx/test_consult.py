"""Consult (warm) transfer and three-way conference from the agent's console, on the real PBX
with SIP phones. hana talks to a caller and consults ivan: Asterisk's attended transfer (AMI
Atxfer of hana's channel to [cc-consult]) holds the caller with music and rings ivan's phone,
whose screen gets the caller's pop saying hana consults him. Then hana cancels (ivan's leg
ends, the caller is back with her, ivan, who talked, wraps up), completes (the call's legs are hana then ivan, ivan owns the
call), or joins all three (ivan's voice reaches the caller and hana; hana leaves, the caller and
ivan talk on). A caller who hangs up mid-consult ends the call: both agents' legs end, and both
wrap up, having talked on it; if ivan's phone still rang, it stops and he stays ready. While it
rings, complete and conference are refused (409 colleague_ringing): no blind transfer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.pbx.amiclient import TestAmi, event
from tests.pbx.bundle import Bundle
from tests.pbx.ivrcaller import caller_channel, linkedid_of, through_menus
from tests.pbx.phones import Phone
from tests.pbx.rig import LAB_RECORDINGS, Agent, Rig, running_rig, wav_rms
from tests.pbx.server import Web
from tests.pbx.test_transfer import control, pops_of, wait_for

AGENTS = [Agent("hana", "1071", {"general": 5}), Agent("ivan", "1072", {"refunds": 4})]
HANA, IVAN = "PJSIP/1071-", "PJSIP/1072-"


@pytest.fixture(scope="module")
def rig(bundle: Bundle, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(bundle, tmp_path_factory.mktemp("pbx-consult"), db_url, AGENTS,
                     wrap_up_s=60) as running:
        yield running


async def answered_by_hana(rig: Rig, ami: TestAmi, number: str, heard: Path
                           ) -> tuple[str, str, float, Phone]:
    """A caller through the IVR to hana: (call id, caller channel, when the caller's phone
    started recording, the caller's phone)."""
    since = time.time()
    caller = rig.caller(number, record=heard)
    channel = await caller_channel(ami, number, since)
    call_id = await linkedid_of(ami, channel)
    connected = await caller.wait_state("CONFIRMED", 10)
    await through_menus(ami, caller, channel, [("choose-language", "1"), ("main-menu", "0")], since)
    await ami.wait(event("BridgeEnter", Channel=HANA), 30, "hana bridged", since)
    await asyncio.sleep(1.0)
    return call_id, channel, connected.logged, caller  # pjsua's clock: not when the test looked


@dataclass(frozen=True)
class Consoles:
    """What a consult scenario works with: the test's AMI link, hana's and ivan's web sessions,
    the messages each console socket received, and both agents' answering phones."""

    ami: TestAmi
    hana: Web
    ivan: Web
    ivan_said: list[dict[str, Any]]
    phones: dict[str, Phone]
    hana_said: list[dict[str, Any]]


@contextlib.asynccontextmanager
async def consoles(rig: Rig, hana: dict[str, Any] | None = None,
                   ivan: dict[str, Any] | None = None) -> AsyncIterator[Consoles]:
    """hana and ivan logged in (ivan's console socket listening), their phones answering
    (``hana``/``ivan``: extra phone options), both registered and ready. On the way out, whatever
    the scenario did: the sessions and the AMI link closed, both agents offline, phones stopped."""
    ami = await rig.ami()
    hana_web, ivan_web = await rig.web("hana"), await rig.web("ivan")
    ivan_said: list[dict[str, Any]] = []
    hana_said: list[dict[str, Any]] = []
    ivan_ws = await pops_of(rig, ivan_web, ivan_said)
    hana_ws = await pops_of(rig, hana_web, hana_said)
    try:
        phones = {login: rig.agent_phone(login, **{"mode": "answer", "talk_s": 120, **(options or {})})
                  for login, options in (("hana", hana), ("ivan", ivan))}
        for agent in AGENTS:
            await rig.wait_registered(agent.extension)
        await rig.ready("hana", "ivan")
        yield Consoles(ami, hana_web, ivan_web, ivan_said, phones, hana_said)
    finally:
        await hana_ws.close()
        await ivan_ws.close()
        await hana_web.close()
        await ivan_web.close()
        await ami.close()
        await rig.offline("hana", "ivan")
        rig.stop_phones()


async def consult_ivan(c: Consoles, call_id: str, body: dict[str, str]) -> float:
    clicked = time.time()
    status, state = await control(c.hana, call_id, {"action": "consult", **body})
    assert status == 200 and state["consult"]["to"] == "ivan", state
    assert state["consult"]["stage"] == "consulting"
    await c.ami.wait(event("BridgeEnter", Channel=IVAN), 10, "ivan answered the consult", clicked)
    pop = await wait_for(c.ivan_said, "pop", 5)
    assert pop["call_id"] == call_id and pop["consult"]["by"] == "hana", pop
    return clicked


async def state_of(rig: Rig, login: str, state: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """The agent's routing state once it is ``state`` (the server follows the PBX's events)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = await rig.agent_state(login)
        if found["state"] == state or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def legs_of(web: Web, row_id: int) -> list[dict[str, Any]]:
    async with web.session.get(f"{web.base}/api/calls/{row_id}") as response:
        assert response.status == 200
        detail = await response.json()
    return list(detail["legs"])


async def test_a_cancelled_consult_gives_the_caller_back_to_hana_after_music(
        rig: Rig, tmp_path: Path) -> None:
    heard = tmp_path / "caller-heard.wav"
    async with consoles(rig) as c:
        call_id, channel, recording, _ = await answered_by_hana(rig, c.ami, "+8613911170001", heard)
        # bad input first: nothing to complete, a consult of oneself or of a missing agent
        assert (await control(c.hana, call_id, {"action": "complete"}))[1]["error_id"] == "no_consult"
        assert (await control(c.hana, call_id, {"action": "consult", "agent": "hana"}))[1][
            "error_id"] == "self_consult"
        assert (await control(c.hana, call_id, {"action": "consult", "agent": "nobody"}))[0] == 404
        assert (await control(c.ivan, call_id, {"action": "consult", "agent": "hana"}))[0] == 404

        clicked = await consult_ivan(c, call_id, {"agent": "ivan"})
        music = await c.ami.wait(event("MusicOnHoldStart", Channel=channel), 5, "the caller holds",
                                 clicked)
        ivan = await state_of(rig, "ivan", "paused")  # routing offers him nothing while consulted
        assert (ivan["state"], ivan["reason"]) == ("paused", "consult"), ivan
        # a double click on consult: refused, the consult goes on
        status, body = await control(c.hana, call_id, {"action": "consult", "agent": "ivan"})
        assert (status, body["error_id"]) == (409, "consult_busy"), body
        await asyncio.sleep(4.0)
        cancelled = time.time()
        status, body = await control(c.hana, call_id, {"action": "cancel"})
        assert status == 200 and body["consult"] is None and body["ended"] is False, body
        await c.ami.wait(event("Hangup", Channel=IVAN), 5, "ivan's leg ended", cancelled)
        stopped = await c.ami.wait(event("MusicOnHoldStop", Channel=channel), 5, "music stopped",
                                   cancelled)
        # he answered and talked: wrap-up, as after any talk (the rig's 60 s), not ready at once
        assert (await state_of(rig, "ivan", "wrap_up"))["state"] == "wrap_up"
        await c.ami.wait(event("BridgeEnter", Channel=HANA), 5, "hana back with the caller",
                         cancelled)
        assert (await rig.agent_state("hana"))["state"] == "talking"
        await asyncio.sleep(2.0)
        hung_up = time.time()
        status, body = await control(c.hana, call_id, {"action": "hangup"})
        assert status == 200, body
        row = await rig.call_row(call_id, timeout_s=60)
        assert row["outcome"] == "answered" and row["hangup_by"] == "agent" and row["transfers"] == 0
        legs = await legs_of(c.hana, row["id"])
        assert [(leg["agent"], leg["ended_how"]) for leg in legs] == [("hana", "hangup")], legs
        rig.stop_phones()  # pjsua completes the WAV header when it closes the file
        on_hold = (music.at - recording + 0.5, stopped.at - recording - 0.3)
        assert wav_rms(heard, *on_hold) > 300, "the caller heard silence during the consult"
        back = (stopped.at - recording + 0.5, hung_up - recording - 0.3)
        assert wav_rms(heard, *back) < 300, "the music went on after the consult (hana plays nothing)"
        rig.capture("call_control_consult_cancelled", clicked - 30)


async def test_a_completed_consult_hands_the_caller_to_ivan_who_owns_the_call(
        rig: Rig, tmp_path: Path) -> None:
    async with consoles(rig) as c:
        call_id, _, _, _ = await answered_by_hana(rig, c.ami, "+8613911170002", tmp_path / "h.wav")
        clicked = await consult_ivan(c, call_id, {"skill": "refunds"})
        await asyncio.sleep(2.0)
        status, body = await control(c.hana, call_id, {"action": "complete"})
        assert status == 200 and body["ended"] is True, body
        done = await c.ami.wait(event("AttendedTransfer", Result="Success"), 5, "transfer", clicked)
        assert done.get("DestType") == "Bridge"
        await c.ami.wait(event("Hangup", Channel=HANA), 5, "hana's leg ended", clicked)
        await wait_for(c.ivan_said, "answered", 10)
        assert (await rig.agent_state("hana"))["state"] == "wrap_up"
        assert (await state_of(rig, "ivan", "talking"))["state"] == "talking"  # his call now
        # ivan owns the call now: his console's controls act on it, hana's no longer do
        assert (await control(c.hana, call_id, {"action": "hold"}))[0] in (404, 409)
        await asyncio.sleep(2.0)
        status, body = await control(c.ivan, call_id, {"action": "hangup"})
        assert status == 200, body
        row = await rig.call_row(call_id, timeout_s=60)
        assert row["outcome"] == "answered" and row["transfers"] == 1, row
        assert (await state_of(rig, "ivan", "wrap_up"))["state"] == "wrap_up"  # as after any call
        legs = await legs_of(c.hana, row["id"])
        assert [(leg["agent"], leg["ended_how"], leg["transferred_to"]) for leg in legs] == [
            ("hana", "consult", "ivan"), ("ivan", "hangup", None)], legs
        assert legs[0]["ended_at"] <= legs[1]["talk_started_at"], legs
        assert legs[1]["talk_s"] > 1.5, legs
        rig.capture("call_control_consult_completed", clicked - 30)


async def test_a_three_way_lets_all_hear_ivan_and_goes_on_when_hana_leaves(
        rig: Rig, tmp_path: Path) -> None:
    heard, hana_heard = tmp_path / "caller-heard.wav", tmp_path / "hana-heard.wav"
    async with consoles(rig, hana={"record": hana_heard},
                        ivan={"play": LAB_RECORDINGS / "agent-greet.wav"}) as c:
        call_id, channel, recording, _ = await answered_by_hana(rig, c.ami, "+8613911170003", heard)
        clicked = await consult_ivan(c, call_id, {"agent": "ivan"})
        joined = time.time()
        status, body = await control(c.hana, call_id, {"action": "conference"})
        assert status == 200 and body["consult"]["stage"] == "conference", body
        await c.ami.wait(event("AttendedTransfer", DestType="Threeway"), 5, "three-way", joined)
        await c.ami.wait(event("MusicOnHoldStop", Channel=channel), 5, "music stopped", joined)
        await asyncio.sleep(4.0)
        left = time.time()
        status, body = await control(c.hana, call_id, {"action": "complete"})  # hana leaves
        assert status == 200 and body["ended"] is True, body
        await c.ami.wait(event("Hangup", Channel=HANA), 5, "hana left", left)
        await asyncio.sleep(2.0)
        assert not c.ami.find(event("Hangup", Channel=channel), left), "the caller was cut off"
        assert not c.ami.find(event("Hangup", Channel=IVAN), left), "ivan was cut off"
        status, body = await control(c.ivan, call_id, {"action": "hangup"})
        assert status == 200, body
        row = await rig.call_row(call_id, timeout_s=60)
        legs = await legs_of(c.hana, row["id"])
        assert [leg["agent"] for leg in legs] == ["hana", "ivan"], legs
        # the overlap: ivan talked to the caller before hana left
        assert legs[1]["talk_started_at"] < legs[0]["ended_at"], legs
        rig.stop_phones()
        three_way = (joined - recording + 1.0, left - recording - 0.3)
        assert wav_rms(heard, *three_way) > 300, "the caller did not hear ivan in the three-way"
        assert wav_rms(hana_heard, 1.0) > 300, "hana did not hear ivan"
        rig.capture("call_control_consult_conference", clicked - 30)


async def test_hana_hanging_up_her_phone_mid_consult_leaves_the_caller_to_ivan(
        rig: Rig, tmp_path: Path) -> None:
    """atxferdropcall=no: Asterisk completes the transfer when hana hangs up; the server agrees
    (ivan talks, then wraps up; the call's legs are hana then ivan). Meanwhile the console
    refuses hold, blind transfer and hang-up: hana's channel talks to ivan, not to the caller."""
    async with consoles(rig) as c:
        call_id, channel, _, _ = await answered_by_hana(rig, c.ami, "+8613911170005",
                                                        tmp_path / "h.wav")
        clicked = await consult_ivan(c, call_id, {"agent": "ivan"})
        for body in ({"action": "hold"}, {"action": "transfer", "skill": "refunds"},
                     {"action": "hangup"}):
            status, answer = await control(c.hana, call_id, body)
            assert (status, answer.get("error_id")) == (409, "consult_under_way"), answer
        assert not c.ami.find(event("BlindTransfer"), clicked)
        await asyncio.sleep(1.0)
        dropped = time.time()
        c.phones["hana"].hangup()
        done = await c.ami.wait(event("AttendedTransfer", Result="Success"), 10, "transfer", dropped)
        assert done.get("DestType") in ("Bridge", "Link"), done
        await asyncio.sleep(2.0)
        assert not c.ami.find(event("Hangup", Channel=channel), dropped), "the caller was cut off"
        assert not c.ami.find(event("Hangup", Channel=IVAN), dropped), "ivan was cut off"
        assert (await state_of(rig, "ivan", "talking"))["state"] == "talking"
        assert (await rig.agent_state("hana"))["state"] == "wrap_up"
        status, body = await control(c.ivan, call_id, {"action": "hangup"})
        assert status == 200, body
        row = await rig.call_row(call_id, timeout_s=60)
        assert row["outcome"] == "answered", row
        assert (await state_of(rig, "ivan", "wrap_up"))["state"] == "wrap_up"
        legs = await legs_of(c.hana, row["id"])
        assert [leg["agent"] for leg in legs] == ["hana", "ivan"], legs
        assert legs[1]["talk_s"] > 1.5, legs


async def test_a_caller_hanging_up_mid_consult_ends_the_call_and_both_agents_wrap_up(
        rig: Rig, tmp_path: Path) -> None:
    async with consoles(rig) as c:
        call_id, channel, _, caller = await answered_by_hana(rig, c.ami, "+8613911170004",
                                                             tmp_path / "h.wav")
        clicked = await consult_ivan(c, call_id, {"agent": "ivan"})
        await asyncio.sleep(1.0)
        caller.hangup()
        await c.ami.wait(event("Hangup", Channel=channel), 10, "the caller left", clicked)
        await c.ami.wait(event("Hangup", Channel=HANA), 10, "hana's leg ended", clicked)
        await c.ami.wait(event("Hangup", Channel=IVAN), 10, "ivan's leg ended", clicked)
        row = await rig.call_row(call_id, timeout_s=60)
        assert row["outcome"] == "answered" and row["hangup_by"] == "caller", row
        assert (await rig.agent_state("hana"))["state"] == "wrap_up"
        # ivan talked on this call: wrap-up too (the rig's 60 s), not ready at once
        assert (await state_of(rig, "ivan", "wrap_up"))["state"] == "wrap_up"
        await asyncio.sleep(1.0)
        assert (await rig.agent_state("ivan"))["state"] == "wrap_up"
        for said in (c.hana_said, c.ivan_said):  # each console shows the call ended
            ended = await wait_for(said, "call_ended", 5)
            assert ended["call_id"] == call_id, ended
        assert (await control(c.hana, call_id, {"action": "complete"}))[0] in (404, 409)
        rig.capture("call_control_consult_caller_left", clicked - 30)


async def test_while_ivans_phone_rings_complete_and_conference_are_409_and_a_caller_leaving_stops_it(
        rig: Rig, tmp_path: Path) -> None:
    async with consoles(rig, ivan={"mode": "ring"}) as c:
        call_id, channel, _, caller = await answered_by_hana(rig, c.ami, "+8613911170006",
                                                             tmp_path / "h.wav")
        clicked = time.time()
        status, state = await control(c.hana, call_id, {"action": "consult", "agent": "ivan"})
        assert status == 200 and state["consult"]["answered"] is False, state
        await c.ami.wait(event("Newchannel", Channel=IVAN), 10, "ivan's phone rings", clicked)
        await wait_for(c.ivan_said, "pop", 5)
        for action in ("complete", "conference"):
            status, body = await control(c.hana, call_id, {"action": action})
            assert (status, body["error_id"]) == (409, "colleague_ringing"), body
        await asyncio.sleep(1.0)
        assert not c.ami.find(event("AttendedTransfer"), clicked), "a transfer to a ringing phone"
        assert not c.ami.find(event("Hangup", Channel=IVAN), clicked), "the consult was dropped"
        caller.hangup()
        await c.ami.wait(event("Hangup", Channel=channel), 10, "the caller left", clicked)
        await c.ami.wait(event("Hangup", Channel=IVAN), 10, "ivan's phone stopped ringing", clicked)
        await c.ami.wait(event("Hangup", Channel=HANA), 10, "hana's leg ended", clicked)
        row = await rig.call_row(call_id, timeout_s=60)
        assert row["hangup_by"] == "caller", row
        assert (await rig.agent_state("hana"))["state"] == "wrap_up"
        ivan = await state_of(rig, "ivan", "ready")  # never answered: no wrap-up
        assert ivan["state"] == "ready", ivan
        await wait_for(c.ivan_said, "consult_ended", 5)
        assert not [m for m in c.ivan_said if m.get("type") == "call_ended"], c.ivan_said
        rig.capture("call_control_consult_ringing_caller_left", clicked - 30)
