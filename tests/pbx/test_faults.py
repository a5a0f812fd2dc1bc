"""Faults on the real PBX: the server killed mid-call and restarted, Asterisk frozen for 20 s
(SIGSTOP) and resumed, Asterisk restarted while idle. In each: no call lost (every call is
stored as ended with the right outcome and agent), no agent stuck (nobody left "talking" or
"offered" once the calls are over), and callers who were in the IVR hear their prompt again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pbx.amiclient import TestAmi
from tests.pbx.bundle import Bundle
from tests.pbx.ivrcaller import on_channel, press_at
from tests.pbx.rig import LAB_RECORDINGS, Agent, Rig, running_rig, wav_rms
from tests.pbx.test_scenarios import Call, offline_after

AGENTS = [Agent("fay", "1021", {"general": 5}), Agent("gus", "1022", {"general": 4}),
          Agent("hal", "1023", {"returns": 5})]


@pytest.fixture(scope="module")
def rig(bundle: Bundle, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(bundle, tmp_path_factory.mktemp("pbx-faults"), db_url, AGENTS,
                     ring_timeout_s=6) as running:
        yield running


# the first stretch of hold music (queued behind the route prompt) is half of it: 8 s
SHORT_AGI_TIMEOUT_S = 16.0


@pytest.fixture
def short_rig(bundle: Bundle, new_database: Callable[[], str],
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    # its own database: on the module's, the module rig's server holds call control and this
    # rig's server would wait as the standby
    with running_rig(bundle, tmp_path_factory.mktemp("pbx-faults-hold"), new_database(), AGENTS[1:2],
                     ring_timeout_s=6, survey=False,
                     ivr={"command_timeout_s": SHORT_AGI_TIMEOUT_S}) as running:
        yield running


async def at_main_menu(rig: Rig, ami: TestAmi, number: str) -> Call:
    """A caller who chose a language and now listens to the main menu without pressing."""
    call = Call(rig, ami, number)
    from tests.pbx.ivrcaller import caller_channel, linkedid_of

    call.channel = await caller_channel(ami, number, call.since)
    call.linkedid = await linkedid_of(ami, call.channel)
    await press_at(ami, call.phone, call.channel, "choose-language", "1", call.since)
    await ami.wait(on_channel("AGIExecStart", call.channel, "main-menu"),
                   20, "main menu", call.since)
    return call


async def nobody_stuck(rig: Rig, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        states = await rig.agents_json()
        stuck = {k: v for k, v in states.items()
                 if v["state"] in ("talking", "offered", "busy") or v.get("call_id")}
        if not stuck:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"agents stuck after every call ended: {stuck}")
        await asyncio.sleep(0.5)


async def answered_by(rig: Rig, linkedid: str, login: str) -> None:
    row = await rig.call_row(linkedid, timeout_s=40)
    conn = await rig.db()
    try:
        agent_id = await conn.fetchval("SELECT id FROM agents WHERE login = $1", login)
    finally:
        await conn.close()
    assert row["outcome"] == "answered" and row["agent_id"] == agent_id, row


async def test_server_killed_mid_call_and_restarted(rig: Rig) -> None:
    """Fay talks to caller 1, caller 2 listens to the main menu, caller 3 waits on hold; the
    server is SIGKILLed and started again. Caller 2 is taken back into the IVR (from its first
    menu) and is routed to Hal,
    caller 3 keeps waiting and reaches Gus once he is ready, caller 1's call is stored answered."""
    ami = await rig.ami()
    try:
        # fay talks until the test hangs up caller 1: were she free (her call over and wrap-up
        # done) before gus is ready, caller 3 would go to her, however long the restart takes
        fay = rig.agent_phone("fay", mode="answer", play=LAB_RECORDINGS / "agent-greet.wav")
        gus = rig.agent_phone("gus", mode="answer", talk_s=4)
        hal = rig.agent_phone("hal", mode="answer", talk_s=4)
        for extension in ("1021", "1022", "1023"):
            await rig.wait_registered(extension)
        await rig.ready("fay", "hal")
        first = await Call(rig, ami, "+8613911210001").dial("general")
        await fay.wait_state("CONFIRMED", 20)
        third = await Call(rig, ami, "+8613911210003").dial("general")
        await third.hold()
        second = await at_main_menu(rig, ami, "+8613911210002")

        rig.deployment.server.kill()
        await asyncio.sleep(2.0)
        restarted = time.time()
        rig.deployment.server.start()
        await rig.deployment.wait_healthy(60)
        # caller 2 is taken back into the IVR (from its first menu: the restarted server does
        # not know where the caller was), chooses the language again, then returns
        try:
            await press_at(ami, second.phone, second.channel, "choose-language", "1", restarted, 30)
        except AssertionError as exc:
            raise AssertionError("after the restart the server did not take back the caller who "
                                 "was in the IVR (AsyncAGI): the caller hears silence") from exc
        await press_at(ami, second.phone, second.channel, "main-menu", "2", restarted, 30)
        await press_at(ami, second.phone, second.channel, "returns-menu", "1", restarted, 30)
        await hal.wait_state("CONFIRMED", 30)
        await rig.ready("gus")
        await gus.wait_state("CONFIRMED", 30)
        assert fay.count("DISCONNECTED") == 0, "caller 1's call did not last through the restart"
        await first.hang_up()
        await fay.wait_state("DISCONNECTED", 15)
        for call in (first, second, third):
            await call.phone.wait_state("CONFIRMED", 1)
            if call.phone.count("DISCONNECTED") == 0:
                await call.hang_up()
        await answered_by(rig, first.linkedid, "fay")
        await answered_by(rig, second.linkedid, "hal")
        await answered_by(rig, third.linkedid, "gus")
        await nobody_stuck(rig)
    finally:
        await ami.close()
        await offline_after(rig, "fay", "gus", "hal")


async def test_asterisk_frozen_for_20_seconds_then_resumed(rig: Rig) -> None:
    ami = await rig.ami()
    try:
        fay = rig.agent_phone("fay", mode="answer", play=LAB_RECORDINGS / "agent-greet.wav", talk_s=30)
        gus = rig.agent_phone("gus", mode="answer", talk_s=4)
        for extension in ("1021", "1022"):
            await rig.wait_registered(extension)
        await rig.ready("fay", "gus")
        first = await Call(rig, ami, "+8613911220001").dial("general")
        await fay.wait_state("CONFIRMED", 20)
        await rig.ready("gus")
        second = await at_main_menu(rig, ami, "+8613911220002")

        rig.pbx.freeze()
        try:
            await asyncio.sleep(20.0)
        finally:
            rig.pbx.thaw()
        thawed = time.time()
        await rig.deployment.wait_healthy(60)
        await press_at(ami, second.phone, second.channel, "main-menu", "0", thawed, 40)
        await gus.wait_state("CONFIRMED", 30)
        await fay.wait_state("DISCONNECTED", 40)
        await gus.wait_state("DISCONNECTED", 20)
        for call in (first, second):
            if call.phone.count("DISCONNECTED") == 0:
                await call.hang_up()
        await answered_by(rig, first.linkedid, "fay")
        await answered_by(rig, second.linkedid, "gus")
        await nobody_stuck(rig)
    finally:
        await ami.close()
        await offline_after(rig, "fay", "gus")


async def test_asterisk_restarted_while_idle(rig: Rig) -> None:
    """After Asterisk restarts, the next call runs the IVR (not the dialplan's safety net) and
    reaches the agent who was ready before."""
    gus = rig.agent_phone("gus", mode="answer", talk_s=3)
    await rig.wait_registered("1022")
    await rig.ready("gus")
    rig.pbx.restart()
    await rig.wait_registered("1022")  # contacts survive in Asterisk's database
    await rig.deployment.wait_healthy(60)
    ami = await rig.ami()
    try:
        call = await Call(rig, ami, "+8613911230001").dial("general")
        await gus.wait_state("CONFIRMED", 30)
        await gus.wait_state("DISCONNECTED", 20)
        if call.phone.count("DISCONNECTED") == 0:
            await call.hang_up()
        await answered_by(rig, call.linkedid, "gus")
        await nobody_stuck(rig)
    finally:
        await ami.close()
        await offline_after(rig, "gus")


async def stored_as_queued(rig: Rig, linkedid: str, timeout_s: float = 10.0) -> None:
    """Until the call's queue time and the IVR's ``queued`` step are stored (what a restarted
    server queues the caller again with)."""
    deadline = time.monotonic() + timeout_s
    while True:
        row = await rig.call_row(linkedid, ended=False, timeout_s=timeout_s)
        if row["queued_at"] is not None and '"queued"' in str(row["ivr_path"]):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"call {linkedid} not stored as queued: {row}")
        await asyncio.sleep(0.2)


async def test_given_server_killed_when_caller_waits_in_queue_past_the_first_stretch_then_music_goes_on(
        short_rig: Rig, tmp_path: Path) -> None:
    """A caller waits in the queue (nobody ready); the server is SIGKILLed and started again
    while the first, capped stretch of hold music plays. The restarted server keeps the hold
    going: the caller hears music after that stretch ended, until Gus takes the call."""
    rig, heard = short_rig, tmp_path / "caller-heard.wav"
    ami = await rig.ami()
    try:
        gus = rig.agent_phone("gus", mode="answer", talk_s=3)
        await rig.wait_registered("1022")
        call = Call(rig, ami, "+8613911210004", record=heard)
        recording = (await call.phone.wait_state("CONFIRMED", 20)).at
        await call.dial("general")
        await call.hold()
        held = await ami.wait(on_channel("AGIExecStart", call.channel, "MusicOnHold"),
                              5, "hold music", call.since)
        await stored_as_queued(rig, call.linkedid)
        rig.deployment.server.kill()
        await asyncio.sleep(1.0)
        restarted = time.time()
        rig.deployment.server.start()
        await rig.deployment.wait_healthy(60)
        first_end = held.at + SHORT_AGI_TIMEOUT_S / 2
        # the restarted server's own hold music starts once the first stretch ends
        kept = await ami.wait(on_channel("AGIExecStart", call.channel, "MusicOnHold"),
                              30, "hold music from the restarted server", restarted)
        music_from = max(first_end, kept.at)  # a slow restart leaves a gap nobody can fill
        await asyncio.sleep(max(0.0, music_from + 6.0 - time.time()))
        waited = time.time()
        await rig.ready("gus")
        await gus.wait_state("CONFIRMED", 30)
        await call.phone.wait_state("CONFIRMED", 1)
        if call.phone.count("DISCONNECTED") == 0:
            await gus.wait_state("DISCONNECTED", 20)
        await answered_by(rig, call.linkedid, "gus")
        await nobody_stuck(rig)
        rig.stop_phones()  # pjsua completes the WAV header when it closes the file
        assert wav_rms(heard, held.at - recording + 0.5, first_end - recording - 0.5) > 100, \
            "no music in the first stretch"
        assert wav_rms(heard, music_from - recording + 0.5, waited - recording - 0.5) > 100, \
            "the caller heard silence after the first stretch of hold music"
    finally:
        await ami.close()
        await offline_after(rig, "gus")
