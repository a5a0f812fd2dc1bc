"""A caller hanging up in the instant a consult begins, on the real PBX with SIP phones: hana
presses Consult (AMI Atxfer of her channel into [cc-consult]) and the caller hangs up at once,
after the request returned (ivan's leg exists, his phone has just begun to ring), or while
Asterisk is still taking the Atxfer (hana is held, the Local pair and ivan's leg are not there
yet), or at the very moment of the press. Whichever wins, nothing is left live: no phone rings
on, no channel stays up, ivan is not kept out of routing by the consult, hana wraps up on the
call, ivan, whose phone only rang (if at all), is ready at once, and the call is stored as the
caller's hang-up of an answered call. And hana hanging up while Asterisk takes the Atxfer:
nobody gets the caller, who goes on to the survey, and ivan is ready at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pbx.amiclient import event
from tests.pbx.bundle import Bundle
from tests.pbx.rig import Rig, running_rig
from tests.pbx.test_consult import AGENTS, HANA, IVAN, Consoles, answered_by_hana, consoles, state_of
from tests.pbx.test_transfer import control, wait_for


@pytest.fixture(scope="module")
def rig(bundle: Bundle, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(bundle, tmp_path_factory.mktemp("pbx-consult-race"), db_url, AGENTS,
                     wrap_up_s=60) as running:
        yield running


async def nothing_live(rig: Rig, timeout_s: float = 15.0) -> None:
    """Until Asterisk has no channel left (the rig's calls are this test's only ones)."""
    deadline = time.monotonic() + timeout_s
    while True:
        shown = rig.pbx.cli("core show channels count")
        if "0 active channels" in shown:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"channels left live: {rig.pbx.cli('core show channels')}")
        await asyncio.sleep(0.3)


async def all_ended(rig: Rig, c: Consoles, call_id: str, since: float) -> dict[str, Any]:
    """The caller left mid-consult, ivan's phone only rang: the call is stored as the caller's
    hang-up, hana wraps up, ivan is ready at once (and stays so: no consult pause comes back),
    no console can act on a consult of the call, and Asterisk has nothing live."""
    row = await rig.call_row(call_id, timeout_s=60)
    assert row["outcome"] == "answered" and row["hangup_by"] == "caller", row
    assert (await state_of(rig, "hana", "wrap_up"))["state"] == "wrap_up"
    ivan = await state_of(rig, "ivan", "ready")
    assert ivan["state"] == "ready", ivan
    await nothing_live(rig)
    await asyncio.sleep(6.0)  # longer than a consult step waits for Asterisk (5 s)
    ivan = await rig.agent_state("ivan")
    assert ivan["state"] == "ready", ivan
    assert (await rig.agent_state("hana"))["state"] == "wrap_up"
    for action in ("cancel", "complete"):
        assert (await control(c.hana, call_id, {"action": action}))[0] in (404, 409)
    if c.ami.find(event("Newchannel", Channel=IVAN), since):
        assert c.ami.find(event("Hangup", Channel=IVAN), since), "ivan's phone rings on"
        await wait_for(c.ivan_said, "consult_ended", 5)
    assert not [m for m in c.ivan_said if m.get("type") == "call_ended"], c.ivan_said
    return row


async def test_a_caller_hanging_up_as_the_consult_request_returns_leaves_nothing_live(
        rig: Rig, tmp_path: Path) -> None:
    async with consoles(rig, ivan={"mode": "ring"}) as c:
        started = time.time()
        call_id, channel, _, caller = await answered_by_hana(rig, c.ami, "+8613911170011",
                                                             tmp_path / "h.wav")
        clicked = time.time()
        status, state = await control(c.hana, call_id, {"action": "consult", "agent": "ivan"})
        caller.hangup()
        assert status == 200 and state["consult"]["to"] == "ivan", state
        await c.ami.wait(event("Hangup", Channel=channel), 10, "the caller left", clicked)
        await c.ami.wait(event("Hangup", Channel=HANA), 10, "hana's leg ended", clicked)
        await c.ami.wait(event("Hangup", Channel=IVAN), 10, "ivan's phone stopped", clicked)
        await all_ended(rig, c, call_id, clicked)
        rig.capture("call_control_consult_caller_left_at_once", started - 1)


async def test_a_caller_hanging_up_while_asterisk_takes_the_atxfer_leaves_nothing_live(
        rig: Rig, tmp_path: Path) -> None:
    """The caller's BYE leaves once Asterisk has held hana (the features code of the Atxfer is
    recognised) and before it creates the Local pair: the consult request may end either way."""
    async with consoles(rig, ivan={"mode": "ring"}) as c:
        started = time.time()
        call_id, channel, _, caller = await answered_by_hana(rig, c.ami, "+8613911170012",
                                                             tmp_path / "h.wav")
        clicked = time.time()
        pressed = asyncio.create_task(control(c.hana, call_id, {"action": "consult", "agent": "ivan"}))
        await c.ami.wait(event("Hold", Channel=HANA), 10, "hana held by the Atxfer", clicked)
        caller.hangup()
        status, state = await pressed
        # taken (ivan's leg came first) or refused as the call ended: not a consult Asterisk
        # "did not confirm" (504) that the server then tries to cancel
        assert (status, state.get("error_id")) in ((200, None), (409, "call_ended")), (status, state)
        await c.ami.wait(event("Hangup", Channel=channel), 10, "the caller left", clicked)
        await c.ami.wait(event("Hangup", Channel=HANA), 10, "hana's leg ended", clicked)
        await all_ended(rig, c, call_id, clicked)
        rig.capture("call_control_consult_caller_left_in_atxfer", started - 1)


async def test_a_caller_hanging_up_at_the_press_of_consult_leaves_nothing_live(
        rig: Rig, tmp_path: Path) -> None:
    async with consoles(rig, ivan={"mode": "ring"}) as c:
        call_id, channel, _, caller = await answered_by_hana(rig, c.ami, "+8613911170013",
                                                             tmp_path / "h.wav")
        clicked = time.time()
        pressed = asyncio.create_task(control(c.hana, call_id, {"action": "consult", "agent": "ivan"}))
        caller.hangup()
        status, state = await pressed
        assert (status, state.get("error_id")) in (
            (200, None), (409, "call_ended"), (404, "not_found")), (status, state)
        await c.ami.wait(event("Hangup", Channel=channel), 10, "the caller left", clicked)
        await c.ami.wait(event("Hangup", Channel=HANA), 10, "hana's leg ended", clicked)
        await all_ended(rig, c, call_id, clicked)


async def test_an_agent_hanging_up_while_asterisk_takes_the_atxfer_hands_nobody_the_caller(
        rig: Rig, tmp_path: Path) -> None:
    """hana's phone hangs up once Asterisk has held her (the Atxfer's feature collecting the
    extension), before the Local pair and ivan's leg exist: no attended transfer is left to
    complete (atxferdropcall=no hands the caller on only from a target leg). The request is
    refused as the consult ended (or, ivan's leg first, taken); without ivan's leg his phone
    never rings and he is ready at once, not kept out of routing for a call he never got, and
    the caller goes on as after any agent's hang-up (the post-call survey)."""
    async with consoles(rig, ivan={"mode": "ring"}) as c:
        started = time.time()
        call_id, channel, _, caller = await answered_by_hana(rig, c.ami, "+8613911170014",
                                                             tmp_path / "h.wav")
        clicked = time.time()
        pressed = asyncio.create_task(control(c.hana, call_id, {"action": "consult", "agent": "ivan"}))
        await c.ami.wait(event("Hold", Channel=HANA), 10, "hana held by the Atxfer", clicked)
        c.phones["hana"].hangup()
        status, state = await pressed
        await c.ami.wait(event("Hangup", Channel=HANA), 10, "hana's leg ended", clicked)
        leg = c.ami.find(event("Newchannel", Channel=IVAN), clicked)
        print("consult request:", status, state.get("error_id"), "ivan's leg:", bool(leg))
        assert (status, state.get("error_id")) in ((200, None), (409, "consult_ended")), (status, state)
        assert (status == 200) == bool(leg), (status, leg)
        if not leg:
            went = await c.ami.wait(lambda e: e.get("Channel") == channel and e.frame.event in (
                "AGIExecStart", "Hangup"), 10, "the caller's next step", clicked)
            print("the caller after hana's hang-up:", [
                (e.frame.event, e.get("Context"), e.get("Exten"), e.get("Cause"))
                for e in c.ami.find(lambda e: e.get("Channel") == channel, clicked)])
            assert went.frame.event == "AGIExecStart", "the caller was not left to the survey"
            ivan = await state_of(rig, "ivan", "ready")
            assert ivan["state"] == "ready", ivan
            await wait_for(c.ivan_said, "consult_ended", 5)
            await asyncio.sleep(6.0)  # longer than a consult step waits for Asterisk (5 s)
            assert (await rig.agent_state("ivan"))["state"] == "ready"
            assert not [m for m in c.ivan_said if m.get("type") == "call_ended"], c.ivan_said
        caller.hangup()
        await c.ami.wait(event("Hangup", Channel=channel), 10, "the caller left", clicked)
        row = await rig.call_row(call_id, timeout_s=60)
        print("stored:", row["outcome"], row["hangup_by"])
        assert (await state_of(rig, "hana", "wrap_up"))["state"] == "wrap_up"
        await nothing_live(rig, timeout_s=40.0)
        rig.capture("call_control_consult_agent_left_in_atxfer", started - 1)
