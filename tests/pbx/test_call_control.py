"""The agent acts on the live call from the console's API, on the real PBX with SIP phones:
answered call → hold (the agent's greeting, playing, stops reaching the caller's phone; Asterisk
starts the hold music's ChanSpy on the caller) → resume → mute / unmute → a double click and another agent refused →
the agent hangs up. The stored call says the agent ended it and how long the caller held."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pbx.amiclient import TestAmi, event
from tests.pbx.bundle import Bundle
from tests.pbx.ivrcaller import caller_channel, linkedid_of, through_menus
from tests.pbx.rig import LAB_RECORDINGS, Agent, Rig, running_rig, wav_rms
from tests.pbx.server import Web

AGENTS = [Agent("hana", "1041", {"general": 5}), Agent("ivan", "1042", {"refunds": 5})]
NUMBER = "+8613911140001"


@pytest.fixture(scope="module")
def rig(bundle: Bundle, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(bundle, tmp_path_factory.mktemp("pbx-control"), db_url, AGENTS) as running:
        yield running


async def control(web: Web, call_id: str, action: str) -> tuple[int, dict[str, Any]]:
    async with web.session.post(f"{web.base}/api/calls/{call_id}/control", json={"action": action},
                                headers={"X-CSRF-Token": web.csrf}) as response:
        return response.status, await response.json()


async def answered_call(rig: Rig, ami: TestAmi, heard: Path) -> tuple[str, str, float, float]:
    """A caller through the IVR to hana, who answers: (call id, caller channel, since, when the
    caller's phone started recording what it hears)."""
    since = time.time()
    caller = rig.caller(NUMBER, record=heard)
    channel = await caller_channel(ami, NUMBER, since)
    call_id = await linkedid_of(ami, channel)
    connected = await caller.wait_state("CONFIRMED", 10)
    await through_menus(ami, caller, channel, [("choose-language", "1"), ("main-menu", "0")], since)
    await ami.wait(event("BridgeEnter", Channel="PJSIP/1041-"), 30, "hana bridged", since)
    return call_id, channel, since, connected.logged  # pjsua's clock: not when the test looked


async def test_agent_holds_resumes_mutes_and_hangs_up_the_call(rig: Rig, tmp_path: Path) -> None:
    ami = await rig.ami()
    hana_web, ivan_web = await rig.web("hana"), await rig.web("ivan")
    heard = tmp_path / "caller-heard.wav"
    try:
        rig.agent_phone("hana", mode="answer", play=LAB_RECORDINGS / "agent-greet.wav", talk_s=120)
        rig.agent_phone("ivan", mode="answer")
        for agent in AGENTS:
            await rig.wait_registered(agent.extension)
        await rig.ready("hana", "ivan")
        call_id, channel, since, recording = await answered_call(rig, ami, heard)
        bridged = time.time()
        await asyncio.sleep(2.0)

        status, body = await control(ivan_web, call_id, "hold")
        assert (status, body["error_id"]) == (404, "not_found"), body  # not ivan's call
        status, body = await control(hana_web, call_id, "fly")
        assert (status, body["error_id"]) == (400, "bad_action"), body
        # a double click: one hold goes through, the other is refused, the call stays consistent
        (s1, b1), (s2, b2) = await asyncio.gather(control(hana_web, call_id, "hold"),
                                                  control(hana_web, call_id, "hold"))
        assert sorted([s1, s2]) == [200, 409], (b1, b2)
        assert next(b for s, b in ((s1, b1), (s2, b2)) if s == 409)["error_id"] in (
            "control_busy", "already_held")
        held = await ami.wait(event("ChanSpyStart", SpyeeChannel=channel), 5, "hold music", since)
        assert (b1 if s1 == 200 else b2)["held"] is True
        await asyncio.sleep(4.0)
        status, body = await control(hana_web, call_id, "resume")
        assert status == 200 and body["held"] is False and body["hold_s"] >= 3.5, body
        stopped = await ami.wait(event("ChanSpyStop", SpyeeChannel=channel), 5, "music stopped", since)
        assert (await control(hana_web, call_id, "resume"))[1]["error_id"] == "not_held"

        status, body = await control(hana_web, call_id, "mute")
        assert status == 200 and body["muted"] is True, body
        status, body = await control(hana_web, call_id, "unmute")
        assert status == 200 and body["muted"] is False, body
        await asyncio.sleep(1.0)
        status, body = await control(hana_web, call_id, "hangup")
        assert status == 200 and body["ended"] is True, body
        status, body = await control(hana_web, call_id, "hold")
        assert status in (404, 409), body  # the call is over

        row = await rig.call_row(call_id, timeout_s=60)
        assert row["hangup_by"] == "agent", row
        assert row["outcome"] == "answered"
        assert row["hold_count"] == 1 and 3.5 <= row["hold_s"] <= stopped.at - held.at + 0.5, row
        rig.stop_phones()  # pjsua completes the WAV header when it closes the file
        # hana's greeting (about 9 s from her answer) reached the caller until the hold, and
        # nothing of it while on hold
        assert wav_rms(heard, bridged - recording + 0.3, held.at - recording - 0.2) > 300
        on_hold = (held.at - recording + 0.3, stopped.at - recording - 0.2)
        assert wav_rms(heard, *on_hold) > 300, "the caller heard silence on hold"
        rig.capture("call_control_hold", since)
    finally:
        await hana_web.close()
        await ivan_web.close()
        await ami.close()
        await rig.offline("hana", "ivan")
        rig.stop_phones()


async def test_hold_music_lost_while_the_link_is_down_is_started_again(rig: Rig, tmp_path: Path) -> None:
    """The server's AMI link drops while the caller holds; the hold music's channel is hung up
    before it comes back. After the reconnect the server finds the music gone and starts new
    music on the caller: the call is still on hold and the agent can resume it."""
    ami = await rig.ami()
    hana_web = await rig.web("hana")
    try:
        rig.agent_phone("hana", mode="answer", play=LAB_RECORDINGS / "agent-greet.wav", talk_s=120)
        await rig.wait_registered("1041")
        await rig.ready("hana")
        call_id, channel, since, _ = await answered_call(rig, ami, tmp_path / "caller-heard.wav")
        status, body = await control(hana_web, call_id, "hold")
        assert status == 200 and body["held"] is True, body
        first = await ami.wait(event("ChanSpyStart", SpyeeChannel=channel), 5, "hold music", since)
        rig.recorder.refusing = True
        rig.recorder.cut()
        await asyncio.sleep(1.0)
        await ami.send({"Action": "Hangup", "Channel": f"/^{first.get('SpyerChannel').split(';')[0]}/"})
        await ami.wait(event("ChanSpyStop", SpyeeChannel=channel), 5, "the music gone", since)
        await asyncio.sleep(1.0)
        rig.recorder.refusing = False
        again = await ami.wait(lambda s: s.frame.event == "ChanSpyStart" and channel in s.get("SpyeeChannel")
                               and s.at > first.at and "@cc-hold-music-" in s.get("SpyerChannel"), 40,
                               "the hold music started again after the reconnect", since)
        assert again.get("SpyerChannel") != first.get("SpyerChannel")
        status, body = await control(hana_web, call_id, "resume")
        assert status == 200 and body["held"] is False, body
        await ami.wait(lambda s: s.frame.event == "ChanSpyStop" and s.at > again.at
                       and channel in s.get("SpyeeChannel"), 5, "the new music stopped", since)
        status, body = await control(hana_web, call_id, "hangup")
        assert status == 200, body
        row = await rig.call_row(call_id, timeout_s=60)
        assert row["hold_count"] == 2 and row["outcome"] == "answered", row  # the music started twice
    finally:
        rig.recorder.refusing = False
        await hana_web.close()
        await ami.close()
        await rig.offline("hana")
        rig.stop_phones()
